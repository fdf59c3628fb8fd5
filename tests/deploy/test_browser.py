"""A real browser against the local stack (issue 29): headless Chromium loads a page from the
local web origin (http://localhost:5173, the local stage's setting), which signs a user in with
SRP (amazon-cognito-identity-js against the emulator's Cognito), calls the API through the local
gateway with the token, uploads a PNG it draws with a presigned PUT, and shows it through the
local CDN (tests/browser/: the page and the playwright-core script that drives it).

Chromium is Debian's `chromium` package (`.ci/run` installs it where missing, and sets
IMAGE_SERVICE_REQUIRE_BROWSER so that CI never skips this); on a developer's machine without
one, this one test is skipped, naming the package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode, urlsplit

import pytest

from ops.toolchain import ROOT
from ops.workdir import stack_outputs
from stacks.settings.emulator import LOCAL_WEB_ORIGIN
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


def test_a_browser_signs_in_calls_the_api_uploads_and_shows_the_image(
    local, local_gateway, web_origin, browser_user
):
    executable = chromium()
    outputs, email, password = browser_user
    query = urlencode(
        {
            "poolId": outputs["UserPoolId"],
            "clientId": outputs["UserPoolClientId"],
            "cognitoEndpoint": f"{local.endpoint}/",
            "apiUrl": local_gateway.api_url,
            "cdnUrl": local_gateway.cdn_url,
            "email": email,
            "password": password,
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
    }
    assert key.startswith("images/") and steps["uploadedBytes"] > 60
    stored = local.client("s3").get_object(Bucket=outputs["BucketName"], Key=key)
    assert stored["ContentType"] == "image/png"
    assert stored["Body"].read()[:8] == b"\x89PNG\r\n\x1a\n"
    local.client("s3").delete_object(Bucket=outputs["BucketName"], Key=key)
