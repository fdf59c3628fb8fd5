"""A real browser against the local stack (issue 29): headless Chromium loads a page from the
local web origin (http://localhost:5173, the local stage's setting), which signs a user in with
SRP (amazon-cognito-identity-js against the emulator's Cognito), calls the API through the local
gateway with the token, uploads a PNG it draws with a presigned PUT, and shows it through the
local CDN; then uploads a photo-sized PNG in two parts from presigned URLs, reading each part's
ETag, retries a part, completes the upload and shows it (issue 39) (tests/browser/: the page and
the playwright-core script that drives it).

Chromium is Debian's `chromium` package (`.ci/run` installs it where missing, and sets
IMAGE_SERVICE_REQUIRE_BROWSER so that CI never skips this); on a developer's machine without
one, this one test is skipped, naming the package."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from ops.toolchain import ROOT
from ops.workdir import stack_outputs
from stacks.settings.emulator import LOCAL_WEB_ORIGIN
from tests.deploy import shared
from tests.deploy.deployment import confirmed_user

pytestmark = pytest.mark.emulator
STACK = "image-service-local"
PAGE = ROOT / "tests" / "browser"
COGNITO_LIBRARY = ROOT / "node_modules" / "amazon-cognito-identity-js" / "dist"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
REQUIRE_ENV = "IMAGE_SERVICE_REQUIRE_BROWSER"


def chromium() -> str:
    found = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    if found:
        return found
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"no Chromium on PATH, though {REQUIRE_ENV} is set: install Debian's chromium")
    pytest.skip(
        "no Chromium on PATH: install Debian's `chromium` package (apt-get install chromium)"
    )


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base's name)
        """Quiet."""


@pytest.fixture
def web_origin(tmp_path):
    """The page and the Cognito library, served at the local web origin."""
    for name in ("index.html", "app.js"):
        shutil.copy(PAGE / name, tmp_path / name)
    shutil.copy(COGNITO_LIBRARY / "amazon-cognito-identity.min.js", tmp_path)
    port = urlsplit(LOCAL_WEB_ORIGIN).port
    handler = partial(_QuietHandler, directory=str(tmp_path))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        pytest.fail(
            f"the local web origin's port {port} is taken ({exc}): the page must be served "
            f"from {LOCAL_WEB_ORIGIN}, the origin the local stack answers CORS for"
        )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield LOCAL_WEB_ORIGIN
    server.shutdown()
    server.server_close()


@pytest.fixture
def browser_user(local):
    outputs = stack_outputs(local.stack_dir(STACK), local.env)
    idp = local.client("cognito-idp")
    email, password = confirmed_user(idp, outputs["UserPoolId"], outputs["UserPoolClientId"], "web")
    yield outputs, email, password
    idp.admin_delete_user(UserPoolId=outputs["UserPoolId"], Username=email)


class MultipartUpload:
    """A multipart upload the page finishes: started here as an upload handler would, with a
    presigned URL (SigV4, as S3 requires) for each of its two parts and for its completion."""

    PARTS = 2

    def __init__(self, local, bucket: str):
        import boto3
        from botocore.config import Config

        from ops.local_aws import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY

        self.s3 = boto3.client(
            "s3",
            endpoint_url=local.endpoint,
            region_name="us-east-1",
            aws_access_key_id=EMULATOR_ACCESS_KEY,
            aws_secret_access_key=EMULATOR_SECRET_KEY,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        self.bucket, self.key = bucket, f"images/multipart-{secrets.token_hex(4)}.png"
        started = self.s3.create_multipart_upload(
            Bucket=bucket, Key=self.key, ContentType="image/png"
        )
        self.upload_id = started["UploadId"]
        where = {"Bucket": bucket, "Key": self.key, "UploadId": self.upload_id}
        self.part_urls = [
            self.s3.generate_presigned_url(
                "upload_part", Params={**where, "PartNumber": n}, ExpiresIn=600
            )
            for n in range(1, self.PARTS + 1)
        ]
        self.complete_url = self.s3.generate_presigned_url(
            "complete_multipart_upload", Params=where, ExpiresIn=600
        )


def _preflights(local, upload: MultipartUpload, part: int) -> int:
    """How many CORS preflights of the part's URL the emulator answered (its request log:
    `... "OPTIONS /<bucket>/<key>?partNumber=1&... HTTP/1.1" 200 -`)."""
    log = shared.shape_dir(shared.deployments_dir(), "local") / "local-aws" / "log"
    found = 0
    for line in log.read_text(errors="replace").splitlines():
        fields = line.split('"')
        if len(fields) < 2 or not fields[1].startswith("OPTIONS "):
            continue
        target = urlsplit(fields[1].split(" ")[1])
        query = parse_qs(target.query)
        if target.path == f"/{upload.bucket}/{upload.key}" and query.get("partNumber") == [
            str(part)
        ]:
            found += 1
    return found


def test_a_browser_signs_in_calls_the_api_uploads_and_shows_the_image(
    local, local_gateway, web_origin, browser_user
):
    executable = chromium()
    outputs, email, password = browser_user
    multipart = MultipartUpload(local, outputs["BucketName"])
    query = urlencode(
        {
            "poolId": outputs["UserPoolId"],
            "clientId": outputs["UserPoolClientId"],
            "cognitoEndpoint": f"{local.endpoint}/",
            "apiUrl": local_gateway.api_url,
            "cdnUrl": local_gateway.cdn_url,
            "email": email,
            "password": password,
            "partUrls": json.dumps(multipart.part_urls),
            "completeUrl": multipart.complete_url,
            "multipartKey": multipart.key,
        }
    )
    proc = subprocess.run(
        ["node", str(PAGE / "run.mjs"), f"{web_origin}/index.html?{query}", executable],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    page = json.loads(proc.stdout)
    steps = page["result"]
    assert "error" not in steps, page
    key = steps["key"]
    assert steps == {
        "signedIn": steps["signedIn"],
        "withoutToken": 401,
        "createStatus": 201,
        "key": key,
        "putStatus": 200,
        "uploadedBytes": steps["uploadedBytes"],
        "displayed": [3, 2],
        "cdnStatus": 200,
        "cdnContentType": "image/png",
        "cdnBytes": steps["uploadedBytes"],
        "readStatus": 200,
        "readBody": key.split("/")[1],
        "requestId": steps["requestId"],
        **{k: steps[k] for k in ("multipartBytes", "partETags", "retriedETag")},
        "partStatuses": [200, 200],
        "completeStatus": 200,
        "multipartDisplayed": [1800, 1300],
    }
    assert key.startswith("images/") and steps["uploadedBytes"] > 60
    # The API's request id is readable by the page (the API's CORS exposes apigw-requestid).
    assert steps["requestId"] and len(steps["requestId"]) > 8
    _the_multipart_upload_was_completed_with_the_etags_the_page_read(local, multipart, steps)
    stored = local.client("s3").get_object(Bucket=outputs["BucketName"], Key=key)
    assert stored["ContentType"] == "image/png"
    assert stored["Body"].read()[:8] == b"\x89PNG\r\n\x1a\n"
    local.client("s3").delete_object(Bucket=outputs["BucketName"], Key=key)


def _the_multipart_upload_was_completed_with_the_etags_the_page_read(local, upload, steps):
    """Issue 39: each part's ETag was readable from JavaScript (the bucket's CORS exposes it),
    the upload was completed with them, and the retried part reused the first PUT's cached
    preflight answer (the bucket's CORS caches preflights for an hour; a browser caches one per
    URL, so a retry of the same presigned URL sends none)."""
    s3 = local.client("s3")
    stored = s3.head_object(Bucket=upload.bucket, Key=upload.key)
    assert stored["ContentLength"] == steps["multipartBytes"] > 5 * 1024 * 1024
    assert stored["ETag"].endswith(f'-{upload.PARTS}"')  # a multipart object's
    assert all(e and e.startswith('"') for e in steps["partETags"])
    assert steps["retriedETag"] == steps["partETags"][0]
    assert (_preflights(local, upload, 1), _preflights(local, upload, 2)) == (1, 1)
    s3.delete_object(Bucket=upload.bucket, Key=upload.key)
