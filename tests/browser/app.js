// What the browser app does against the local stack; every step's outcome lands in #result as
// JSON (data-done set when finished), for the test to read.
const params = new URLSearchParams(location.search);
const config = Object.fromEntries(params.entries());
const steps = {};

function signIn() {
  const pool = new AmazonCognitoIdentity.CognitoUserPool({
    UserPoolId: config.poolId,
    ClientId: config.clientId,
    endpoint: config.cognitoEndpoint,
  });
  const user = new AmazonCognitoIdentity.CognitoUser({ Username: config.email, Pool: pool });
  const details = new AmazonCognitoIdentity.AuthenticationDetails({
    Username: config.email,
    Password: config.password,
  });
  return new Promise((resolve, reject) => {
    user.authenticateUser(details, { onSuccess: resolve, onFailure: reject });
  });
}

function png() {
  const canvas = document.createElement("canvas");
  canvas.width = 3;
  canvas.height = 2;
  const context = canvas.getContext("2d");
  context.fillStyle = "#d01012"; // LEGO red
  context.fillRect(0, 0, 3, 2);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

function shown(url) {
  const image = document.getElementById("image");
  return new Promise((resolve, reject) => {
    image.onload = () => resolve([image.naturalWidth, image.naturalHeight]);
    image.onerror = () => reject(new Error(`the image at ${url} did not load`));
    image.src = url;
  });
}

// A photo-sized image: random pixels do not compress, so its PNG is several megabytes, more than
// one 5 MiB part (S3's smallest but the last).
function noisePng(width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(width, height);
  const chunk = new Uint8Array(65536); // getRandomValues' most at once
  for (let i = 0; i < pixels.data.length; i += chunk.length) {
    crypto.getRandomValues(chunk);
    pixels.data.set(chunk.subarray(0, Math.min(chunk.length, pixels.data.length - i)), i);
  }
  for (let i = 3; i < pixels.data.length; i += 4) pixels.data[i] = 255; // opaque
  context.putImageData(pixels, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

const PART_SIZE = 5 * 1024 * 1024;

// A multipart upload as a browser upload UI (the AWS SDK's Upload, Uppy) does it: each part PUT
// to its presigned URL and its ETag read from the answer (the bucket's CORS exposes it), one
// part retried on the same URL (its preflight answer reused from the browser's cache), then the
// upload completed with the ETags read, and the image shown from the CDN.
async function multipart() {
  const partUrls = JSON.parse(config.partUrls);
  const image = await noisePng(1800, 1300);
  steps.multipartBytes = image.size;
  const parts = partUrls.map((_, i) =>
    image.slice(i * PART_SIZE, i === partUrls.length - 1 ? image.size : (i + 1) * PART_SIZE),
  );
  const etags = [];
  steps.partStatuses = [];
  for (const [i, url] of partUrls.entries()) {
    const put = await fetch(url, { method: "PUT", body: parts[i] });
    steps.partStatuses.push(put.status);
    etags.push(put.headers.get("ETag"));
  }
  steps.partETags = etags;
  const retried = await fetch(partUrls[0], { method: "PUT", body: parts[0] });
  steps.retriedETag = retried.headers.get("ETag");
  const listed = etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag}</ETag></Part>`);
  const completed = await fetch(config.completeUrl, {
    method: "POST",
    headers: { "Content-Type": "application/xml" },
    body: `<CompleteMultipartUpload>${listed.join("")}</CompleteMultipartUpload>`,
  });
  steps.completeStatus = completed.status;
  steps.multipartDisplayed = await shown(`${config.cdnUrl}/${config.multipartKey}`);
}

async function run() {
  const session = await signIn();
  const token = session.getAccessToken().getJwtToken();
  steps.signedIn = session.getAccessToken().payload.username;

  const refused = await fetch(`${config.apiUrl}/images/1`);
  steps.withoutToken = refused.status;

  const created = await fetch(`${config.apiUrl}/images`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}` },
  });
  steps.createStatus = created.status;
  const upload = await created.json();
  steps.key = upload.key;

  const image = await png();
  const put = await fetch(upload.uploadUrl, {
    method: "PUT",
    headers: { "Content-Type": "image/png" },
    body: image,
  });
  steps.putStatus = put.status;
  steps.uploadedBytes = image.size;

  const url = `${config.cdnUrl}/${upload.key}`;
  steps.displayed = await shown(url);
  const fetched = await fetch(url);
  steps.cdnStatus = fetched.status;
  steps.cdnContentType = fetched.headers.get("content-type");
  steps.cdnBytes = (await fetched.arrayBuffer()).byteLength;

  const read = await fetch(`${config.apiUrl}/images/${encodeURIComponent(upload.key.split("/")[1])}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  steps.readStatus = read.status;
  steps.readBody = await read.text();
  // The API's request id, which support asks for, readable by the page (exposed by its CORS).
  steps.requestId = read.headers.get("apigw-requestid");

  if (config.partUrls) await multipart();
}

run()
  .catch((error) => {
    steps.error = String(error && (error.message || error));
  })
  .finally(() => {
    const result = document.getElementById("result");
    result.textContent = JSON.stringify(steps);
    result.dataset.done = "true";
  });
