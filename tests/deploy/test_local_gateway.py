"""The local gateway (issue 29) against the session's local deployment (tests/deploy/shared.py:
image-service-local with its test handlers), as `make up` starts it: the API served from what
was deployed (routes, the JWT authorizer, CORS), handlers run from their folders with API
Gateway's payload 2.0, the CDN's responses; then its own faults, on gateways of their own.

Tokens are a real user's, signed in with SRP through the stack's app client; the invalid ones
are signed with the emulator's own Cognito key (moto's cognitoidp/resources), so only the claim
under test is wrong."""

from __future__ import annotations

import base64
import gzip
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import jwt
import pytest

from ops import local_aws, smoke
from ops.gateway import daemon
from ops.workdir import stack_outputs
from stacks.settings.emulator import LOCAL_WEB_ORIGIN
from tests.deploy.deployment import confirmed_user, srp_tokens
from tests.deploy.shared import (
    BEHAVIOURS_FUNCTION,
    BEHAVIOURS_TIMEOUT_SECONDS,
    deployments_dir,
    shape_dir,
)
from tests.handler_source import BEHAVIOURS_PNG_BASE64
from tests.wait import wait_until

pytestmark = pytest.mark.emulator
STACK = "image-service-local"
PNG = smoke.tiny_png()


def call(method: str, url: str, headers: dict | None = None, body: bytes | None = None):
    """smoke.http with a handler's cold start in mind: (status, body, every response header)."""
    return smoke.http(method, url, headers, body, timeout=60)


@pytest.fixture(scope="module")
def outputs(local):
    return stack_outputs(local.stack_dir(STACK), local.env)


@pytest.fixture(scope="module")
def api(local_gateway) -> str:
    return local_gateway.api_url


@pytest.fixture(scope="module")
def user(local, outputs):
    """A signed-up, confirmed user of the stack's pool, signed in with SRP: its tokens."""
    idp = local.client("cognito-idp")
    pool, client = outputs["UserPoolId"], outputs["UserPoolClientId"]
    email, password = confirmed_user(idp, pool, client, "gw")
    tokens = srp_tokens(idp, pool, client, email, password)
    yield tokens
    idp.admin_delete_user(UserPoolId=pool, Username=email)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def forged(claims: dict, outputs: dict, **changes) -> str:
    """A token signed with the emulator's Cognito key, with the stack's issuer and client id,
    valid for an hour, then `changes` (a claim set to None is left out)."""
    import moto.cognitoidp

    path = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"
    key = jwt.PyJWK(json.loads(gzip.decompress(path.read_bytes())))
    now = int(time.time())
    payload = {
        **claims,
        "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{outputs['UserPoolId']}",
        "client_id": outputs["UserPoolClientId"],
        "token_use": "access",
        "iat": now,
        "exp": now + 3600,
    }
    payload.update(changes)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key.key, algorithm="RS256", headers={"kid": "dummy"})


# ---- the JWT authorizer ----------------------------------------------------------------------
def test_a_request_without_a_token_is_401_with_api_gateways_body(api):
    status, body, headers = call("GET", f"{api}/images/1", {"Origin": LOCAL_WEB_ORIGIN})
    assert (status, body) == (401, b'{"message":"Unauthorized"}')
    assert headers["content-type"] == "application/json"
    # CORS headers on the refusal too, so the browser app can read the 401.
    assert headers["access-control-allow-origin"] == LOCAL_WEB_ORIGIN
    assert headers["apigw-requestid"]


@pytest.mark.parametrize("form", ["Bearer {}", "bearer {}", "{}"])
def test_a_signed_in_users_access_token_reaches_the_handler(api, user, form):
    status, body, _ = call(
        "GET", f"{api}/images/42", {"Authorization": form.format(user["AccessToken"])}
    )
    assert (status, body) == (200, b"42")


def test_an_id_token_is_accepted_by_its_audience(api, user):
    status, body, _ = call("GET", f"{api}/images/7", bearer(user["IdToken"]))
    assert (status, body) == (200, b"7")


@pytest.mark.parametrize(
    "changes,why",
    [
        ({"exp": int(time.time()) - 60}, "expired"),
        ({"nbf": int(time.time()) + 600}, "not valid yet"),
        ({"client_id": "someone-elses-client"}, "audience"),
        ({"client_id": None, "aud": "someone-elses-client"}, "audience"),
        ({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"}, "issuer"),
        ({"iss": "https://login.example.com"}, "issuer"),
        ({"exp": None}, "exp"),
    ],
    ids=["expired", "not-before", "client-id", "aud", "other-pool", "other-issuer", "no-exp"],
)
def test_an_invalid_token_is_401(api, outputs, changes, why):
    token = forged({"sub": "u1", "username": "u1"}, outputs, **changes)
    status, body, headers = call("GET", f"{api}/images/1", bearer(token))
    assert (status, body) == (401, b'{"message":"Unauthorized"}')
    assert headers["www-authenticate"].startswith('Bearer scope="" error="invalid_token"')
    assert why in headers["www-authenticate"]


def test_a_forged_token_with_the_emulators_key_but_valid_claims_passes(api, outputs):
    """The negative cases above fail on their one claim: the same token with valid claims is
    let through."""
    status, body, _ = call("GET", f"{api}/images/9", bearer(forged({"sub": "u1"}, outputs)))
    assert (status, body) == (200, b"9")


def test_a_tampered_signature_is_401(api, user):
    head, claims, signature = user["AccessToken"].split(".")
    tampered = f"{head}.{claims}.{signature[:-4]}AAAA"
    assert call("GET", f"{api}/images/1", bearer(tampered))[0] == 401
    assert call("GET", f"{api}/images/1", bearer("not-a-jwt"))[0] == 401


def local_gateway_run_dir() -> Path:
    return shape_dir(deployments_dir(), "local") / "local-aws"


# ---- routes ------------------------------------------------------------------------------------
def test_a_route_without_an_integration_is_404_not_found(api, user):
    status, body, _ = call("PATCH", f"{api}/images/1", bearer(user["AccessToken"]))
    assert (status, body) == (404, b'{"message":"Not Found"}')


def test_no_route_is_404_before_any_authorization(api):
    for method, path in (("GET", "/albums"), ("PUT", "/images"), ("GET", "/images/1/2")):
        assert call(method, f"{api}{path}")[:2] == (404, b'{"message":"Not Found"}')


# ---- CORS ---------------------------------------------------------------------------------------
def test_a_preflight_from_an_allowed_origin_is_answered_without_authorization(api, outputs):
    status, body, headers = call(
        "OPTIONS",
        f"{api}/images/1",
        {
            "Origin": LOCAL_WEB_ORIGIN,
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert (status, body) == (204, b"")
    assert headers["access-control-allow-origin"] == LOCAL_WEB_ORIGIN
    assert set(headers["access-control-allow-methods"].split(",")) == {
        "GET",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
        "OPTIONS",
    }
    assert headers["access-control-allow-headers"] == "authorization,content-type"
    assert headers["access-control-max-age"] == "3600"


@pytest.mark.parametrize(
    "origin,method,requested",
    [
        ("https://evil.example", "GET", ""),
        ("http://localhost:5174", "GET", ""),
        (LOCAL_WEB_ORIGIN, "TRACE", ""),
        (LOCAL_WEB_ORIGIN, "GET", "x-secret"),
    ],
    ids=["other-origin", "other-port", "method", "header"],
)
def test_a_preflight_outside_the_configuration_gets_no_cors_headers(api, origin, method, requested):
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if requested:
        headers["Access-Control-Request-Headers"] = requested
    status, _, answered = call("OPTIONS", f"{api}/images", headers)
    assert status == 204
    assert not [h for h in answered if h.lower().startswith("access-control-")]


def test_actual_responses_carry_cors_for_allowed_origins_only(api, user):
    token = bearer(user["AccessToken"])
    allowed = call("GET", f"{api}/images/1", {**token, "Origin": LOCAL_WEB_ORIGIN})[2]
    assert allowed["access-control-allow-origin"] == LOCAL_WEB_ORIGIN
    denied = call("GET", f"{api}/images/1", {**token, "Origin": "https://evil.example"})[2]
    assert "access-control-allow-origin" not in denied


# ---- the integration: payload 2.0 -------------------------------------------------------------
@pytest.fixture(scope="module")
def echoed(api, user):
    """The event the behaviours handler got for one request, and the response's headers."""
    status, body, headers = call(
        "GET",
        f"{api}/images?tag=red&tag=blue&empty=&name=a%20b",
        {
            **bearer(user["AccessToken"]),
            "X-Custom": "one",
            "Cookie": "session=abc; theme=dark",
            "User-Agent": "gateway-test/1",
            "Content-Type": "application/json",
        },
        body=b'{"hello": "world"}',
    )
    assert status == 200, body
    return json.loads(body), headers


def test_the_event_is_payload_2_0(echoed, user):
    event, headers = echoed
    assert event["version"] == "2.0"
    assert (event["routeKey"], event["rawPath"]) == ("GET /images", "/images")
    assert event["rawQueryString"] == "tag=red&tag=blue&empty=&name=a%20b"
    assert event["queryStringParameters"] == {"tag": "red,blue", "empty": "", "name": "a b"}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["headers"]["x-custom"] == "one" and "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    assert "pathParameters" not in event
    assert (event["body"], event["isBase64Encoded"]) == ('{"hello": "world"}', False)
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/images",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "gateway-test/1",
    }
    assert context["requestId"] == headers["apigw-requestid"]
    assert (context["routeKey"], context["stage"]) == ("GET /images", "$default")
    assert time.strptime(context["time"], "%d/%b/%Y:%H:%M:%S +0000")
    assert abs(context["timeEpoch"] / 1000 - time.time()) < 600
    claims = context["authorizer"]["jwt"]["claims"]
    signed = smoke.jwt_claims(user["AccessToken"])
    assert claims["sub"] == signed["sub"] and claims["client_id"] == signed["client_id"]
    assert claims["iss"] == signed["iss"] and all(isinstance(v, str) for v in claims.values())


def test_path_parameters_and_a_binary_body_arrive_as_api_gateway_sends_them(api, user):
    status, body, _ = call(
        "GET",
        f"{api}/images",
        {**bearer(user["AccessToken"]), "Content-Type": "image/png"},
        body=PNG,
    )
    event = json.loads(body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == PNG
    # The image handler's route: its path parameter is the image id it answers with.
    assert call("GET", f"{api}/images/abc-1", bearer(user["AccessToken"]))[1] == b"abc-1"


@pytest.mark.parametrize(
    "behave,status,content_type,body",
    [
        ("bare", 200, "application/json", b'{"hello": "world"}'),
        ("string", 200, "application/json", b"just a string"),
        ("binary", 200, "image/png", None),
        ("invalid", 500, "application/json", b'{"message":"Internal Server Error"}'),
        ("crash", 500, "application/json", b'{"message":"Internal Server Error"}'),
        ("exit", 500, "application/json", b'{"message":"Internal Server Error"}'),
    ],
)
def test_each_form_of_result_is_mapped_as_api_gateway_maps_it(
    api, user, behave, status, content_type, body
):
    answered = call("GET", f"{api}/images?behave={behave}", bearer(user["AccessToken"]))
    assert answered[0] == status
    assert answered[2]["content-type"] == content_type
    assert answered[1] == (base64.b64decode(BEHAVIOURS_PNG_BASE64) if body is None else body)


def test_cookies_and_headers_are_returned_and_the_integrations_cors_replaced(api, user):
    status, body, headers = call(
        "GET",
        f"{api}/images?behave=cookies",
        {**bearer(user["AccessToken"]), "Origin": LOCAL_WEB_ORIGIN},
    )
    assert (status, body) == (200, b"with cookies")
    assert headers.get_all("set-cookie") == ["a=1; Path=/", "b=2; Secure"]
    assert headers["x-answer"] == "42"
    assert headers.get_all("access-control-allow-origin") == [LOCAL_WEB_ORIGIN]


def test_the_handler_runs_with_its_environment_and_the_emulator_only(api, user, local):
    status, body, _ = call("GET", f"{api}/images?behave=remaining", bearer(user["AccessToken"]))
    found = json.loads(body)
    assert status == 200
    assert found["name"] == BEHAVIOURS_FUNCTION and found["region"] == "us-east-1"
    assert found["endpoint"] == local.endpoint and found["profile"] is None
    assert found["greeting"] == "hello"  # the function's own environment
    assert 0 < found["remaining"] <= BEHAVIOURS_TIMEOUT_SECONDS * 1000


def test_a_handler_past_its_timeout_is_stopped_and_answered_500(api, user, local_gateway):
    seconds = BEHAVIOURS_TIMEOUT_SECONDS + 3
    status, body, headers = call(
        "GET", f"{api}/images?behave=sleep&seconds={seconds}", bearer(user["AccessToken"])
    )
    assert (status, body) == (500, b'{"message":"Internal Server Error"}')
    log = (local_gateway_run_dir() / "logs" / f"{BEHAVIOURS_FUNCTION}.log").read_text()
    request_id = headers["apigw-requestid"]
    assert f"{request_id} Task timed out after {BEHAVIOURS_TIMEOUT_SECONDS:.2f} seconds" in log
    assert f"END RequestId: {request_id}" in log


def test_each_invocation_is_logged_and_make_logs_prints_them(api, user, local):
    _, _, headers = call("GET", f"{api}/images?behave=crash", bearer(user["AccessToken"]))
    request_id = headers["apigw-requestid"]
    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ops.gateway",
            "logs",
            BEHAVIOURS_FUNCTION,
            "--run-dir",
            str(local_gateway_run_dir()),
        ],
        capture_output=True,
        text=True,
        cwd=local.outdir.parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert printed.returncode == 0, printed.stderr
    block = printed.stdout.split(f"START RequestId: {request_id}")[1].split("END RequestId")[0]
    assert "behaving: crash" in block
    assert "[ERROR] RuntimeError: the handler failed on purpose" in block
    assert "Traceback (most recent call last)" in block
    assert f"REPORT RequestId: {request_id}\tDuration:" in printed.stdout


# ---- an upload, as the browser does it, and the CDN ---------------------------------------------
@pytest.fixture(scope="module")
def uploaded(api, user, local, outputs):
    """POST /images (the upload handler: a presigned PUT for a new key), the PUT of a PNG."""
    status, body, _ = call("POST", f"{api}/images", bearer(user["AccessToken"]))
    assert status == 201, body
    answer = json.loads(body)
    put = urllib.request.Request(
        answer["uploadUrl"], data=PNG, method="PUT", headers={"Content-Type": "image/png"}
    )
    with urllib.request.urlopen(put, timeout=30) as resp:
        assert resp.status == 200
    yield answer
    local.client("s3").delete_object(Bucket=outputs["BucketName"], Key=answer["key"])


def test_the_upload_handler_signs_a_put_for_the_signed_in_user(uploaded, user, local):
    assert uploaded["key"].startswith("images/") and uploaded["key"].endswith(".png")
    assert uploaded["user"] == smoke.jwt_claims(user["AccessToken"])["username"]
    assert uploaded["uploadUrl"].startswith(f"{local.endpoint}/images-lego-moc-local/images/")


def test_the_cdn_serves_the_uploaded_image_with_the_policys_headers(local_gateway, uploaded):
    status, body, headers = call(
        "GET", f"{local_gateway.cdn_url}/{uploaded['key']}", {"Origin": LOCAL_WEB_ORIGIN}
    )
    assert (status, body) == (200, PNG)
    assert headers["content-type"] == "image/png"
    assert headers["content-length"] == str(len(PNG)) and headers["etag"].startswith('"')
    assert headers["access-control-allow-origin"] == LOCAL_WEB_ORIGIN
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    assert (headers["x-content-type-options"], headers["x-frame-options"]) == (
        "nosniff",
        "SAMEORIGIN",
    )
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    head = call("HEAD", f"{local_gateway.cdn_url}/{uploaded['key']}")
    assert (head[0], head[1], head[2]["content-length"]) == (200, b"", str(len(PNG)))
    part = call("GET", f"{local_gateway.cdn_url}/{uploaded['key']}", {"Range": "bytes=0-7"})
    assert (part[0], part[1]) == (206, PNG[:8])


def test_the_cdn_refuses_what_the_distribution_refuses(local_gateway, uploaded):
    cdn = local_gateway.cdn_url
    missing = call("GET", f"{cdn}/images/none.png", {"Origin": "https://evil.example"})
    assert missing[0] == 403 and b"<Code>AccessDenied</Code>" in missing[1]
    assert "access-control-allow-origin" not in missing[2]
    assert call("POST", f"{cdn}/{uploaded['key']}", body=b"x")[0] == 403
    assert call("OPTIONS", f"{cdn}/{uploaded['key']}")[0] == 403


# ---- the gateway's own faults, on gateways of their own -----------------------------------------
@pytest.fixture
def own_run_dir(tmp_path):
    yield tmp_path
    daemon.down(tmp_path)


@pytest.fixture
def preferred() -> tuple[int, int]:
    """Preferred ports of this test's own (5051 and 5052 belong to whichever gateway of the
    machine got them first, `make up`'s scenario's among them)."""
    api = local_aws.free_port()
    cdn = local_aws.free_port()
    while cdn == api:
        cdn = local_aws.free_port()
    return api, cdn


def _emulator() -> local_aws.Emulator:
    found = local_aws.status(local_gateway_run_dir())
    assert found is not None
    return found


def test_up_again_reloads_the_same_gateway_and_a_dead_one_is_replaced(
    own_run_dir, local, preferred
):
    stack_dir = local.stack_dir(STACK)
    first = daemon.up(_emulator(), stack_dir, "local", own_run_dir, preferred)
    assert (first.api_port, first.cdn_port) == preferred
    generation = json.loads((own_run_dir / "gateway" / "loaded").read_text())["generation"]
    again = daemon.up(_emulator(), stack_dir, "local", own_run_dir, preferred)
    assert again == first
    reloaded = json.loads((own_run_dir / "gateway" / "loaded").read_text())
    assert reloaded == {"generation": generation + 1, "error": ""}
    os.kill(first.pid, signal.SIGKILL)
    wait_until(lambda: not local_aws.alive(first.pid), "the killed gateway gone")
    assert daemon.status(own_run_dir) is None
    replaced = daemon.up(_emulator(), stack_dir, "local", own_run_dir, preferred)
    assert replaced.pid != first.pid
    # Its ports again, while they are free: a URL a developer copied stays valid.
    assert (replaced.api_port, replaced.cdn_port) == (first.api_port, first.cdn_port)
    assert call("GET", f"{replaced.api_url}/images/1")[0] == 401


def test_taken_ports_give_a_new_gateway_other_ones(own_run_dir, local, preferred):
    import socket

    first = daemon.up(_emulator(), local.stack_dir(STACK), "local", own_run_dir, preferred)
    daemon.down(own_run_dir)
    taken = {first.api_port, first.cdn_port, *preferred}  # the last ports and the preferred
    squatters = []
    for port in taken:
        squatter = socket.socket()
        squatter.bind(("127.0.0.1", port))  # the previous ports were just freed: they bind
        squatter.listen(1)
        squatters.append(squatter)
    try:
        moved = daemon.up(_emulator(), local.stack_dir(STACK), "local", own_run_dir, preferred)
    finally:
        for squatter in squatters:
            squatter.close()
    assert {moved.api_port, moved.cdn_port}.isdisjoint(taken)
    assert call("GET", f"{moved.cdn_url}/images/none.png")[0] == 403


def test_a_gateway_whose_record_is_lost_is_still_stopped(own_run_dir, local, preferred):
    started = daemon.up(_emulator(), local.stack_dir(STACK), "local", own_run_dir, preferred)
    for name in ("pid", "api_port", "cdn_port"):
        (own_run_dir / "gateway" / name).unlink()
    assert daemon.status(own_run_dir) is None
    assert daemon.find_unrecorded(own_run_dir) == [started.pid]
    assert local_aws.down(own_run_dir) is False  # no emulator here; the gateway stopped first
    wait_until(lambda: not local_aws.alive(started.pid), "the gateway stopped")


def test_a_gateway_stops_when_its_emulator_does(own_run_dir, local, preferred):
    """Never orphaned: the gateway of an emulator that stopped has nothing left to serve."""
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        emulator = local_aws.Emulator(stand_in.pid, _emulator().port)
        started = daemon.up(emulator, local.stack_dir(STACK), "local", own_run_dir, preferred)
        stand_in.kill()
        stand_in.wait()
        wait_until(lambda: not local_aws.alive(started.pid), "the gateway exited")
    finally:
        stand_in.kill()
