"""The local gateway's process: the HTTP API and the CDN of one emulator stack, each on a port of
127.0.0.1, in threads of one process. It reads what it serves at its start and again on SIGHUP
(`make up` sends one after every deploy: ops/gateway/daemon.py), and exits when its emulator
stops (nothing left to serve) or on SIGTERM.

    python -m ops.gateway serve --run-dir DIR --stack-dir DIR --stage STAGE --endpoint URL
        --emulator-pid PID --api-port N --cdn-port N       (what ops/gateway/daemon.py starts)

Each request is one line in DIR/gateway/access.log: time, request id, method, path, route, status
and, for an integration, how it ended.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ops import local_aws, processes
from ops.gateway import cors, payload, runner
from ops.gateway.cdn import Cdn
from ops.gateway.config import ConfigError, DeployedApi, load
from ops.gateway.jwt_auth import JwtValidator, Unauthorized
from ops.gateway.routing import choose

HOST = "127.0.0.1"
# Exit code when a port is taken: the daemon chooses others and starts it again.
EXIT_PORT_TAKEN = 3
# What a route without an integration answers (after its authorizer): API Gateway serves
# nothing there; its HTTP API docs do not say the status, and a request that matches nothing
# deployed is this (docs/local-development.md, "The API and the CDN on 127.0.0.1").
NO_INTEGRATION = (404, "Not Found")


def message(status: int, text: str, headers: dict[str, str] | None = None) -> payload.Response:
    """API Gateway's own answer: {"message": ...} as JSON."""
    body = json.dumps({"message": text}, separators=(",", ":")).encode()
    return payload.Response(
        status, {"content-type": "application/json", **(headers or {})}, [], body
    )


class Gateway:
    """What the servers share: the deployed API (reloaded on demand), the JWT validator, the
    CDN, where logs go."""

    def __init__(self, run_dir: Path, stack_dir: Path, stage: str, endpoint: str):
        from stacks.settings import emulator_stage_settings

        self.run_dir, self.stack_dir, self.endpoint = run_dir, stack_dir, endpoint
        self.settings = emulator_stage_settings(stage, endpoint=endpoint)
        self.log_dir = run_dir / "logs"
        self.validator = JwtValidator(endpoint)
        self.cdn = Cdn(
            self.settings.bucket.name,
            tuple(self.settings.cdn.cors_origins),
            local_aws.client("s3", endpoint),
        )
        self._api: DeployedApi | None = None
        self._error = ""
        self._lock = threading.Lock()
        self.generation = 0

    def reload(self) -> None:
        try:
            api = load(self.endpoint, self.settings.api.name, self.stack_dir)
            error = ""
        except ConfigError as exc:
            api, error = None, str(exc)
        with self._lock:
            self._api, self._error = api, error
            self.generation += 1
        record = self.run_dir / "gateway" / "loaded"
        processes.write_record(record, json.dumps({"generation": self.generation, "error": error}))

    def api(self) -> DeployedApi:
        with self._lock:
            if self._api is None:
                raise ConfigError(self._error or "the API is not loaded")
            return self._api

    # ---- the HTTP API ------------------------------------------------------------------------
    def handle_api(self, request: payload.Request) -> tuple[payload.Response, str, str]:
        """The response, the route key taken and how its integration ended (for the log)."""
        request_id = secrets.token_urlsafe(12)
        try:
            api = self.api()
        except ConfigError as exc:
            return message(500, "Internal Server Error"), "-", f"not loaded: {exc}"
        origin = request.headers.get("origin", "")
        if api.cors and cors.is_preflight(request.method, request.headers):
            return (
                payload.Response(204, cors.preflight(api.cors, request.headers)),
                "-",
                "preflight",
            )
        response, route_key, note = self._route(api, request, request_id)
        response.headers = cors.without_cors(response.headers) if api.cors else response.headers
        if api.cors:
            response.headers.update(cors.response_headers(api.cors, origin))
        response.headers["apigw-requestid"] = request_id
        return response, route_key, note

    def _route(
        self, api: DeployedApi, request: payload.Request, request_id: str
    ) -> tuple[payload.Response, str, str]:
        chosen = choose(api.routes, request.method, request.raw_path)
        if chosen is None:
            return message(404, "Not Found"), "-", "no route"
        route, params = chosen
        claims = None
        if route.authorization == "JWT" and route.authorizer:
            try:
                claims = self.validator.claims(request.headers, route.authorizer, route.scopes)
            except Unauthorized as exc:
                challenge = {"www-authenticate": exc.www_authenticate()}
                return message(exc.status, exc.message, challenge), route.key, exc.description
        if route.function is None:
            return message(*NO_INTEGRATION), route.key, "the route has no integration"
        event = payload.event(
            request,
            route.key,
            params,
            claims,
            request_id=request_id,
            api_id=api.api_id,
            account_id=self.settings.account.account_id,
            domain_name=f"{api.api_id}.execute-api.{self.settings.region}.amazonaws.com",
        )
        outcome = runner.invoke(
            route.function,
            event,
            endpoint=self.endpoint,
            log_dir=self.log_dir,
            request_id=request_id,
            integration_timeout_ms=route.integration_timeout_ms,
        )
        return _integration_response(outcome), route.key, f"{outcome.kind} {outcome.detail}".strip()


def _integration_response(outcome: runner.Outcome) -> payload.Response:
    """What API Gateway answers for the invocation: the mapped result; 503 when the integration
    ran past its 30 s; 500 for an error, the function's timeout, a crash or a result it cannot
    map."""
    if outcome.kind == "result":
        try:
            return payload.response(outcome.value)
        except payload.InvalidResponse:
            return message(500, "Internal Server Error")
    if outcome.kind == "gateway-timeout":
        return message(503, "Service Unavailable")
    return message(500, "Internal Server Error")


# ---- HTTP -------------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "image-service-local-gateway"
    # A response is written in two sends (its head, then its body): with Nagle's algorithm on,
    # the body waits for the client's delayed acknowledgement of the head (~40 ms on a kept-alive
    # connection). TCP_NODELAY sends it at once (socketserver's StreamRequestHandler sets it).
    disable_nagle_algorithm = True
    gateway: Gateway
    kind: str  # "api" or "cdn"

    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _headers(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            found[key] = f"{found[key]},{value}" if key in found else value
        return found

    def _dispatch(self) -> None:
        path, _, query = self.path.partition("?")
        headers = self._headers()
        started = time.monotonic()
        try:
            response, route, note = self._answer(path, query, headers)
        except Exception as exc:  # the emulator went away mid-request, say: logged, answered
            failed = (500, "Internal Server Error") if self.kind == "api" else (502, "Bad Gateway")
            response, route, note = message(*failed), "-", f"failed: {type(exc).__name__}: {exc}"
        self._send(response)
        self._log_line(path, response.status, route, note, time.monotonic() - started)

    def _answer(
        self, path: str, query: str, headers: dict[str, str]
    ) -> tuple[payload.Response, str, str]:
        if self.kind == "api":
            request = payload.Request(
                self.command, path, query, headers, self._body(), self.client_address[0]
            )
            return self.gateway.handle_api(request)
        self._body()
        return self.gateway.cdn.serve(self.command, path, headers), "-", ""

    def _send(self, response: payload.Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        for cookie in response.cookies:
            self.send_header("set-cookie", cookie)
        length = response.headers.get("content-length", str(len(response.body)))
        self.send_header("content-length", length)
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def _log_line(self, path: str, status: int, route: str, note: str, seconds: float) -> None:
        line = (
            f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {self.kind} {self.command} "
            f"{path} route={route} status={status} {seconds * 1000:.0f}ms {note}\n"
        )
        with open(self.gateway.run_dir / "gateway" / "access.log", "a") as log:
            log.write(line)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        """Quiet: every request is in access.log."""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


def _server(gateway: Gateway, kind: str, port: int) -> ThreadingHTTPServer:
    handler = type(f"{kind.title()}Handler", (_Handler,), {"gateway": gateway, "kind": kind})
    server = ThreadingHTTPServer((HOST, port), handler)
    server.daemon_threads = True
    return server


def serve(args: argparse.Namespace) -> int:
    directory = args.run_dir / "gateway"
    directory.mkdir(parents=True, exist_ok=True)
    gateway = Gateway(args.run_dir, args.stack_dir, args.stage, args.endpoint)
    try:
        servers = [_server(gateway, "api", args.api_port), _server(gateway, "cdn", args.cdn_port)]
    except OSError as exc:
        print(f"a port is taken: {exc}", file=sys.stderr)
        return EXIT_PORT_TAKEN
    reload_wanted = threading.Event()
    stop = threading.Event()
    signal.signal(signal.SIGHUP, lambda *_: reload_wanted.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    gateway.reload()
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    processes.write_record(
        directory / "serves",
        json.dumps(
            {
                "emulator_pid": args.emulator_pid,
                "endpoint": args.endpoint,
                "stack_dir": str(args.stack_dir),
                "stage": args.stage,
            }
        ),
    )
    processes.write_record(directory / "api_port", str(args.api_port))
    processes.write_record(directory / "cdn_port", str(args.cdn_port))
    processes.write_record(directory / "pid", str(os.getpid()))  # last: the record is complete
    while not stop.wait(0.25):
        if not processes.alive(args.emulator_pid):
            break  # its emulator stopped: nothing left to serve
        if reload_wanted.is_set():
            reload_wanted.clear()
            gateway.reload()
    for server in servers:
        server.shutdown()
    return 0
