"""Smoke test of the deployed local stack: what the service's next epics will do, through the
stack's outputs and the emulator's endpoint only.

    python -m ops.smoke [--endpoint URL] [--outdir DIR] [--api-url URL --cdn-url URL]
                                                            (the README's `make smoke`)

Steps, one line each:
  upload    a presigned PUT of a PNG (as a browser uploads), read back with GetObject and a
            presigned GET
  metadata  image items in the story's data model (PK IMAGE#<id>, SK METADATA, GSI1 by user,
            GSI2 by album), a user's and an album's images read newest first through UserIndex
            and AlbumIndex
  sign-in   a user signs up in the stack's user pool and signs in through its app client with
            SRP; the access token's issuer and client id are exactly what the API's JWT
            authorizer accepts
  ttl       a temporary image's item with a numeric `ttl` attribute, read back; the table
            expires items by that attribute
  api       through the local gateway: a request without a token refused (401), a preflight
            from the local web origin answered, and each route with an integration called
            with the signed-in user's token (none until stacks/handlers.py attaches one)
  cdn       the uploaded image fetched through the local gateway's CDN, with its content type
            and the policy's headers; a missing key refused (403)
  cleanup   everything the run created is deleted again (object, items, user)
Every run uses fresh ids, so it can run any number of times beside a developer's own data.

Exit codes: 0 every step passed; 1 a step failed (the message names it); 2 nothing to test: the
emulator is not running or the stack is not deployed (run `make up`).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import json
import secrets
import struct
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from ops import local_aws, workdir
from ops.gateway import daemon
from ops.toolchain import OUTDIR, project_env
from stacks.errors import EXIT_ERROR, ImageServiceError, ToolchainError, report
from stacks.settings import LOCAL_ENDPOINT_ENV, STAGES_ENV, emulator_stage_settings

STAGE = "local"
EXIT_FAILED = 1
EXIT_NOTHING_TO_TEST = EXIT_ERROR  # the emulator or the stack is missing
# The outputs the steps use; a stack without them is not the image service (or too old).
REQUIRED_OUTPUTS = ("BucketName", "TableName", "UserPoolId", "UserPoolClientId", "ApiId")


class StepFailed(Exception):
    """A step's check did not hold; the message says what was expected and what was found."""


class NothingToTest(ImageServiceError):
    """The emulator or the deployed stack is missing; the message names the fix."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"nothing to test: {problem}")


def tiny_png() -> bytes:
    """A valid 1x1 PNG (the bytes a browser would upload)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT (not verified: the API's authorizer verifies signatures on AWS)."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def expect(condition: bool, problem: str) -> None:
    if not condition:
        raise StepFailed(problem)


@dataclass
class Smoke:
    endpoint: str
    outputs: dict[str, str]
    region: str
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))
    # What the run created, deleted by the cleanup step: (what, delete function).
    created: list[tuple[str, Callable[[], Any]]] = field(default_factory=list)
    # The local gateway's API and CDN (ops/gateway); None: not running.
    api_url: str | None = None
    cdn_url: str | None = None
    # What the steps after them use: the uploaded image's key, the signed-in user's token.
    uploaded_key: str = ""
    access_token: str = ""

    def client(self, service: str) -> Any:
        return local_aws.client(service, self.endpoint, region=self.region)

    # ---- steps ---------------------------------------------------------------------------
    def upload(self) -> str:
        s3, bucket = self.client("s3"), self.outputs["BucketName"]
        key, body = f"smoke/{self.run_id}.png", tiny_png()
        url = s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": bucket, "Key": key, "ContentType": "image/png"},
            ExpiresIn=300,
        )
        self.created.append(
            (f"s3://{bucket}/{key}", lambda: s3.delete_object(Bucket=bucket, Key=key))
        )
        # The content type that was signed must be sent (a browser's fetch does).
        request = urllib.request.Request(
            url, data=body, method="PUT", headers={"Content-Type": "image/png"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                expect(resp.status == 200, f"the presigned PUT answered HTTP {resp.status}")
        except urllib.error.HTTPError as exc:
            raise StepFailed(
                f"S3 refused the presigned PUT of s3://{bucket}/{key} with HTTP "
                f"{exc.code} {exc.reason}"
            ) from None
        stored = s3.get_object(Bucket=bucket, Key=key)
        expect(stored["Body"].read() == body, "GetObject returned other bytes than were uploaded")
        expect(
            stored["ContentType"] == "image/png",
            f"the object's content type is {stored['ContentType']!r}, not 'image/png'",
        )
        self.uploaded_key = key
        download = s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300
        )
        with urllib.request.urlopen(download, timeout=10) as resp:
            expect(resp.read() == body, "the presigned GET returned other bytes")
        return (
            f"presigned PUT of s3://{bucket}/{key} ({len(body)} bytes), read back with "
            "GetObject and a presigned GET"
        )

    def metadata(self) -> str:
        ddb, table = self.client("dynamodb"), self.outputs["TableName"]
        user, album, other_album = (
            f"smoke-user-{self.run_id}",
            f"smoke-album-{self.run_id}",
            f"smoke-other-{self.run_id}",
        )
        images = [  # (image id, album, uploaded at), oldest first
            (f"smoke-{self.run_id}-1", album, "2026-11-01T10:00:00Z"),
            (f"smoke-{self.run_id}-2", other_album, "2026-11-02T10:00:00Z"),
            (f"smoke-{self.run_id}-3", album, "2026-11-03T10:00:00Z"),
        ]
        for image_id, image_album, uploaded in images:
            key = {"PK": {"S": f"IMAGE#{image_id}"}, "SK": {"S": "METADATA"}}
            ddb.put_item(
                TableName=table,
                Item={
                    **key,
                    "GSI1PK": {"S": f"USER#{user}"},
                    "GSI1SK": {"S": f"UPLOADED#{uploaded}"},
                    "GSI2PK": {"S": f"ALBUM#{image_album}"},
                    "GSI2SK": {"S": f"UPLOADED#{uploaded}"},
                    "title": {"S": f"smoke image {image_id}"},
                },
            )
            self.created.append(
                (
                    f"item IMAGE#{image_id}",
                    functools.partial(ddb.delete_item, TableName=table, Key=key),
                )
            )

        def newest_first(index: str, pk_name: str, pk_value: str) -> list[str]:
            found = ddb.query(
                TableName=table,
                IndexName=index,
                ScanIndexForward=False,
                KeyConditionExpression="#pk = :pk",
                ExpressionAttributeNames={"#pk": pk_name},
                ExpressionAttributeValues={":pk": {"S": pk_value}},
            )["Items"]
            return [item["PK"]["S"].removeprefix("IMAGE#") for item in found]

        by_user = newest_first("UserIndex", "GSI1PK", f"USER#{user}")
        want_user = [image_id for image_id, _, _ in reversed(images)]
        expect(by_user == want_user, f"UserIndex returned {by_user}, expected {want_user}")
        by_album = newest_first("AlbumIndex", "GSI2PK", f"ALBUM#{album}")
        want_album = [image_id for image_id, a, _ in reversed(images) if a == album]
        expect(by_album == want_album, f"AlbumIndex returned {by_album}, expected {want_album}")
        return (
            "3 image items written; UserIndex gave the user's 3 and AlbumIndex the album's "
            "2, newest first"
        )

    def sign_in(self) -> str:
        from pycognito.aws_srp import AWSSRP  # dev dependency, only this step needs it

        idp = self.client("cognito-idp")
        pool_id, client_id = self.outputs["UserPoolId"], self.outputs["UserPoolClientId"]
        email = f"smoke-{self.run_id}@example.com"
        # Meets the pool's password policy: 12+ characters, upper, lower, digit, symbol.
        password = f"Smoke-{secrets.token_hex(8)}-Pw1"
        idp.sign_up(
            ClientId=client_id,
            Username=email,
            Password=password,
            UserAttributes=[{"Name": "email", "Value": email}],
        )
        self.created.append(
            (f"user {email}", lambda: idp.admin_delete_user(UserPoolId=pool_id, Username=email))
        )
        # Stands in for the code Cognito would e-mail.
        idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=email)
        tokens = AWSSRP(
            username=email, password=password, pool_id=pool_id, client_id=client_id, client=idp
        ).authenticate_user()
        result = tokens.get("AuthenticationResult")
        expect(bool(result), f"SRP sign-in returned no tokens but {sorted(tokens)}")
        claims = jwt_claims(result["AccessToken"])
        self.access_token = result["AccessToken"]

        api = self.client("apigatewayv2")
        api_id = self.outputs["ApiId"]
        routes = api.get_routes(ApiId=api_id)["Items"]
        authorizer_ids = {route.get("AuthorizerId") for route in routes}
        expect(
            len(routes) > 0 and len(authorizer_ids) == 1 and None not in authorizer_ids,
            f"the API's routes name authorizers {sorted(map(str, authorizer_ids))}, "
            "expected exactly one",
        )
        jwt = api.get_authorizer(ApiId=api_id, AuthorizerId=authorizer_ids.pop())[
            "JwtConfiguration"
        ]
        expect(
            claims.get("token_use") == "access",
            f"the access token's token_use is {claims.get('token_use')!r}",
        )
        expect(
            claims.get("iss") == jwt["Issuer"],
            f"the token's issuer {claims.get('iss')!r} is not the authorizer's issuer "
            f"{jwt['Issuer']!r}",
        )
        expect(
            claims.get("client_id") in jwt["Audience"],
            f"the token's client_id {claims.get('client_id')!r} is not in the authorizer's "
            f"audience {jwt['Audience']}",
        )
        return (
            f"{email} signed up and signed in with SRP; the access token's issuer and "
            f"client_id match the API's JWT authorizer (moto does not check the password "
            f"proof; Cognito does)"
        )

    def ttl(self) -> str:
        ddb, table = self.client("dynamodb"), self.outputs["TableName"]
        ttl_config = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        expect(
            ttl_config.get("TimeToLiveStatus") == "ENABLED",
            f"the table's TTL is {ttl_config.get('TimeToLiveStatus')!r}, not ENABLED",
        )
        attribute = ttl_config["AttributeName"]
        expires = int(time.time()) + 3600
        key = {"PK": {"S": f"IMAGE#smoke-{self.run_id}-temporary"}, "SK": {"S": "METADATA"}}
        ddb.put_item(TableName=table, Item={**key, attribute: {"N": str(expires)}})
        self.created.append(
            ("item IMAGE#...-temporary", lambda: ddb.delete_item(TableName=table, Key=key))
        )
        item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item", {})
        expect(
            item.get(attribute) == {"N": str(expires)},
            f"the item's {attribute!r} came back as {item.get(attribute)!r}",
        )
        return f"a temporary image's item expires by its numeric '{attribute}' ({expires})"

    def _gateway(self, url: str | None) -> str:
        expect(
            url is not None,
            "the local gateway is not running (`make up` starts it beside the emulator)",
        )
        return str(url)

    def _call(self, method: str, url: str, **kwargs: Any) -> tuple[int, bytes, Message]:
        """http() through the local gateway: nothing answering is the gateway's absence."""
        try:
            return http(method, url, **kwargs)
        except urllib.error.URLError as exc:
            raise StepFailed(
                f"nothing answers {method} {url} ({exc.reason}): the local gateway does not "
                "run there (`make up` starts it; --api-url and --cdn-url name another)"
            ) from None

    def api(self) -> str:
        from ops.gateway.config import load
        from stacks.settings.emulator import LOCAL_WEB_ORIGIN

        url = self._gateway(self.api_url)
        status, body, _ = self._call("GET", f"{url}/images")
        expect(
            (status, body) == (401, b'{"message":"Unauthorized"}'),
            f"GET /images without a token answered {status} {body!r}, not 401 Unauthorized",
        )
        preflight = {"Origin": LOCAL_WEB_ORIGIN, "Access-Control-Request-Method": "POST"}
        status, _, headers = self._call("OPTIONS", f"{url}/images", headers=preflight)
        expect(
            status == 204 and headers.get("access-control-allow-origin") == LOCAL_WEB_ORIGIN,
            f"a preflight from {LOCAL_WEB_ORIGIN} answered {status} {dict(headers)}",
        )
        # The API by its own name, as the gateway finds it (ops/gateway/server.py); no stack
        # folder: which routes have a function is all this step needs, not their sources.
        api_name = emulator_stage_settings(STAGE, endpoint=self.endpoint).api.name
        deployed = load(self.endpoint, api_name, Path("."))
        integrated = [r for r in deployed.routes if r.function and r.method in ("GET", "ANY")]
        called = []
        for route in integrated:
            path = "/".join(
                f"smoke-{self.run_id}" if p.startswith("{") else p for p in route.path.split("/")
            )
            status, body, _ = self._call(
                "GET", f"{url}{path}", headers={"Authorization": f"Bearer {self.access_token}"}
            )
            expect(status < 500, f"GET {path} with the user's token answered {status} {body!r}")
            called.append(f"{route.key} -> {status}")
        return f"{url}: 401 without a token, the preflight from {LOCAL_WEB_ORIGIN} allowed; " + (
            f"with the user's token {', '.join(called)}"
            if called
            else "no GET route has an integration yet (stacks/handlers.py attaches none)"
        )

    def cdn(self) -> str:
        url = self._gateway(self.cdn_url)
        status, body, headers = self._call("GET", f"{url}/{self.uploaded_key}")
        expect(status == 200 and body == tiny_png(), f"GET /{self.uploaded_key} answered {status}")
        expect(
            headers.get("content-type") == "image/png"
            and headers.get("x-content-type-options") == "nosniff",
            f"the image came with headers {dict(headers)}",
        )
        status, _, _ = self._call("GET", f"{url}/images/smoke-{self.run_id}-missing.png")
        expect(status == 403, f"a missing key answered {status}, not 403 (OAC, no ListBucket)")
        return f"{url}/{self.uploaded_key}: the uploaded PNG, image/png, nosniff; a missing key 403"

    def cleanup(self) -> str:
        for _, delete in reversed(self.created):
            delete()
        names = len(self.created)
        self.created.clear()
        return f"deleted the {names} things this run created"


STEPS: tuple[tuple[str, Callable[[Smoke], str]], ...] = (
    ("upload", Smoke.upload),
    ("metadata", Smoke.metadata),
    ("sign-in", Smoke.sign_in),
    ("ttl", Smoke.ttl),
    ("api", Smoke.api),
    ("cdn", Smoke.cdn),
    ("cleanup", Smoke.cleanup),
)


def http(
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 30,
) -> tuple[int, bytes, Message]:
    """(status, body, headers) of one request; HTTP errors are answers too. The headers as sent
    (a repeated one kept, e.g. set-cookie), read case-insensitively."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


def stack_outputs(outdir: Path, endpoint: str) -> dict[str, str]:
    """The deployed stack's outputs, from its state in the emulator (`terraform output`)."""
    stack = emulator_stage_settings(STAGE, endpoint=endpoint).stack_name
    stack_dir = outdir / "stacks" / stack
    env = project_env({LOCAL_ENDPOINT_ENV: endpoint, STAGES_ENV: STAGE})
    if not (stack_dir / ".terraform").is_dir():
        raise NothingToTest(
            f"{stack} has not been deployed from {outdir} (no initialised "
            f"{stack_dir}). Fix: run `make up`."
        )
    try:
        outputs = workdir.stack_outputs(stack_dir, env)
    except ToolchainError as exc:
        raise NothingToTest(
            f"could not read {stack}'s outputs from the emulator at {endpoint} "
            f"({exc}). Fix: run `make up`."
        ) from None
    missing = [name for name in REQUIRED_OUTPUTS if name not in outputs]
    if missing:
        raise NothingToTest(
            f"{stack} in the emulator at {endpoint} has no outputs "
            f"{', '.join(missing)}: it is not deployed there (the emulator keeps "
            "everything in memory, so a restarted emulator is empty). "
            "Fix: run `make up`."
        )
    return outputs


def run(
    endpoint: str,
    outputs: dict[str, str],
    region: str,
    steps: tuple[tuple[str, Callable[[Smoke], str]], ...] = STEPS,
    gateway: tuple[str, str] | None = None,
) -> int:
    """Every step against the stack at `endpoint` and, through `gateway` (its API and CDN
    URLs), the local gateway."""
    from botocore.exceptions import BotoCoreError, ClientError

    smoke = Smoke(endpoint, outputs, region)
    if gateway:
        smoke.api_url, smoke.cdn_url = gateway
    stack = emulator_stage_settings(STAGE, endpoint=endpoint).stack_name
    print(f"smoke test of {stack} at {endpoint} (run {smoke.run_id})", flush=True)
    for name, step in steps:
        try:
            detail = step(smoke)
        except (
            StepFailed,
            ClientError,
            BotoCoreError,
            urllib.error.URLError,
            OSError,
            KeyError,
            ValueError,
        ) as exc:
            problem = str(exc) if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}"
            print(f"  {name:9} FAILED  {problem}", flush=True)
            left = [what for what, _ in smoke.created]
            for _, delete in reversed(smoke.created):
                with contextlib.suppress(Exception):  # best effort; listed below
                    delete()
            print(
                f"\nsmoke: step '{name}' failed: {problem}. The local stack does not do what "
                "the service needs; compare it with `bin/cdktf diff image-service-local`, or "
                "redeploy with `make down && make up`."
                + (f" (Deleted what this run created: {', '.join(left)}.)" if left else ""),
                file=sys.stderr,
            )
            return EXIT_FAILED
        print(f"  {name:9} ok      {detail}", flush=True)
    print("smoke: every step passed")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.smoke",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--endpoint",
        help="the emulator's URL (default: the one `make up` started, from .run/local-aws)",
    )
    parser.add_argument(
        "--outdir",
        type=Path,
        default=OUTDIR,
        help="the synthesis the stack was deployed from (default: cdktf.out)",
    )
    parser.add_argument("--api-url", help="the local gateway's API (default: make up's)")
    parser.add_argument("--cdn-url", help="the local gateway's CDN (default: make up's)")
    args = parser.parse_args(argv)
    try:
        endpoint = args.endpoint
        if endpoint is None:
            emulator = local_aws.status()
            if emulator is None:
                raise NothingToTest(
                    "the local AWS emulator is not running (no live emulator "
                    f"recorded in {local_aws.DEFAULT_RUN_DIR}). Fix: run "
                    "`make up`, then `make smoke`."
                )
            endpoint = emulator.endpoint
        region = emulator_stage_settings(STAGE, endpoint=endpoint).region
        outputs = stack_outputs(args.outdir, endpoint)
    except ImageServiceError as exc:  # NothingToTest, a bad setting: EXIT_NOTHING_TO_TEST
        return report(exc)
    served = daemon.serving(endpoint)
    gateway = (
        (args.api_url, args.cdn_url)
        if args.api_url and args.cdn_url
        else (served.api_url, served.cdn_url)
        if served
        else None
    )
    return run(endpoint, outputs, region, gateway=gateway)


if __name__ == "__main__":
    sys.exit(main())
