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
