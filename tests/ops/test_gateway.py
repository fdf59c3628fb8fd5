"""The local gateway's rules on their own (issue 29), without an emulator: how a route is chosen,
how a result is mapped, CORS beyond the stack's configuration, and the integration's 30 s cap.
(tests/deploy/test_local_gateway.py serves the deployed stack through it.)"""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest

from ops.gateway import cors, payload, runner
from ops.gateway.bootstrap import EXIT_TIMED_OUT, RESULT_FILE
from ops.gateway.config import Cors, Function, Route, function_name
from ops.gateway.routing import choose
from ops.gateway.server import _integration_response
from tests.handler_source import write_handler_source
from tests.wait import wait_until

ROUTES = [
    Route("GET /pets"),
    Route("GET /pets/dog"),
    Route("GET /pets/{id}"),
    Route("ANY /pets/{id}"),
    Route("GET /pets/{proxy+}"),
    Route("POST /pets"),
    Route("$default"),
]


@pytest.mark.parametrize(
    "method,path,route,params",
    [
        ("GET", "/pets", "GET /pets", {}),
        ("GET", "/pets/dog", "GET /pets/dog", {}),  # a full match before a variable
        ("GET", "/pets/cat", "GET /pets/{id}", {"id": "cat"}),  # before ANY and greedy
        ("DELETE", "/pets/cat", "ANY /pets/{id}", {"id": "cat"}),
        ("GET", "/pets/cat/toys/1", "GET /pets/{proxy+}", {"proxy": "cat/toys/1"}),
        ("PUT", "/pets", "$default", {}),  # nothing else matches
        ("GET", "/", "$default", {}),
    ],
)
def test_the_most_specific_route_is_chosen(method, path, route, params):
    chosen, found = choose(ROUTES, method, path)
    assert (chosen.key, found) == (route, params)


def test_without_a_default_route_nothing_matches():
    assert choose(ROUTES[:-1], "PUT", "/pets") is None
    assert choose([Route("GET /images/{imageId}")], "GET", "/images/") is None


def test_the_function_of_an_integration_is_found_by_arn_or_invoke_arn():
    arn = "arn:aws:lambda:us-east-1:123456789012:function:image-service-local-get-image"
    invoke = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"
    assert function_name(arn) == function_name(invoke) == "image-service-local-get-image"
    assert function_name("https://example.com") is None


@pytest.mark.parametrize(
    "result,status,headers,body",
    [
        ({"statusCode": 204}, 204, {}, b""),
        ({"statusCode": 200, "body": {"a": 1}}, 200, {}, b'{"a": 1}'),
        (
            {
                "statusCode": 200,
                "body": base64.b64encode(b"\x00\x01").decode(),
                "isBase64Encoded": True,
            },
            200,
            {},
            b"\x00\x01",
        ),
        ({"statusCode": 302, "headers": {"Location": "/x"}}, 302, {"location": "/x"}, b""),
        ([1, 2], 200, {"content-type": "application/json"}, b"[1, 2]"),
        (None, 200, {"content-type": "application/json"}, b"null"),
        ("text", 200, {"content-type": "application/json"}, b"text"),
    ],
)
def test_results_are_mapped_by_payload_2_0s_rules(result, status, headers, body):
    mapped = payload.response(result)
    assert (mapped.status, mapped.headers, mapped.body) == (status, headers, body)


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "200"},
        {"statusCode": 42},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
        {"statusCode": 200, "headers": ["x"]},
    ],
)
def test_a_result_api_gateway_cannot_map_is_a_500(result):
    with pytest.raises(payload.InvalidResponse):
        payload.response(result)
    mapped = _integration_response(runner.Outcome("result", result))
    assert (mapped.status, mapped.body) == (500, b'{"message":"Internal Server Error"}')


def test_cors_with_a_wildcard_origin_and_credentials():
    config = Cors(("*",), ("GET",), ("*",), ("x-total",), 60, allow_credentials=True)
    asked = {
        "origin": "https://any.example",
        "access-control-request-method": "GET",
        "access-control-request-headers": "X-Anything",
    }
    assert cors.preflight(config, asked) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET",
        "access-control-allow-headers": "*",
        "access-control-max-age": "60",
        "access-control-allow-credentials": "true",
    }
    assert cors.response_headers(config, "https://any.example") == {
        "access-control-allow-origin": "*",
        "access-control-expose-headers": "x-total",
        "access-control-allow-credentials": "true",
    }
    assert cors.without_cors({"Access-Control-Allow-Origin": "x", "x-a": "1"}) == {"x-a": "1"}


def _function(tmp_path, timeout: int, source: str) -> Function:
    folder = write_handler_source(tmp_path / "fn", source)
    return Function("fn", "app.handler", timeout, 128, "python3.12", "arn:fn", {}, folder)


def test_an_integration_past_api_gateways_cap_is_a_503(tmp_path):
    """A function allowed more time than API Gateway waits: the gateway gives up first (its
    cap here shortened from 30 s to 0.5 s), answering 503 Service Unavailable."""
    slow = "import time\ndef handler(event, context):\n    time.sleep(30)\n"
    outcome = runner.invoke(
        _function(tmp_path, 60, slow),
        {},
        endpoint="http://127.0.0.1:9",
        log_dir=tmp_path / "logs",
        request_id="r1",
        integration_timeout_ms=500,
    )
    assert outcome.kind == "gateway-timeout"
    mapped = _integration_response(outcome)
    assert (mapped.status, mapped.body) == (503, b'{"message":"Service Unavailable"}')
    assert (
        "the integration ran past API Gateway's 30 s" in (tmp_path / "logs" / "fn.log").read_text()
    )


def _invoke(tmp_path, function: Function) -> runner.Outcome:
    return runner.invoke(
        function,
        {},
        endpoint="http://127.0.0.1:9",
        log_dir=tmp_path / "logs",
        request_id="r-timeout",
        integration_timeout_ms=30_000,
    )


def test_the_timeout_counts_from_the_handlers_call_not_the_modules_import(tmp_path):
    """Lambda imports the module in its Init phase (10 s of its own): an import slower than the
    function's timeout still answers, and the handler is given its whole timeout."""
    slow_import = (
        "import time\ntime.sleep(1.5)\n"
        "def handler(event, context):\n    return context.get_remaining_time_in_millis()\n"
    )
    outcome = _invoke(tmp_path, _function(tmp_path, 1, slow_import))
    assert outcome.kind == "result", outcome.detail
    assert 500 < outcome.value <= 1000
    # Its log reports the two apart, as Lambda's REPORT line does on a cold start.
    [report] = [
        line
        for line in (tmp_path / "logs" / "fn.log").read_text().splitlines()
        if line.startswith("REPORT")
    ]
    fields = dict(field.split(": ", 1) for field in report.split("\t"))
    assert fields["REPORT RequestId"] == "r-timeout"
    assert float(fields["Duration"].removesuffix(" ms")) < 500
    assert float(fields["Init Duration"].removesuffix(" ms")) >= 1500
    assert fields["Memory Size"] == "128 MB"


def test_a_handler_past_its_own_timeout_is_stopped_there(tmp_path):
    slow = "import time\ndef handler(event, context):\n    print('started')\n    time.sleep(30)\n"
    outcome = _invoke(tmp_path, _function(tmp_path, 1, slow))
    assert (outcome.kind, outcome.detail) == ("timeout", "Task timed out after 1.00 seconds")
    log = (tmp_path / "logs" / "fn.log").read_text()
    assert "started\n" in log  # what it printed before it was stopped is kept
    assert "r-timeout Task timed out after 1.00 seconds" in log
    assert "\tInit Duration: " in log  # its Init ended; its call did not


def test_the_runtime_itself_stops_a_handler_at_its_timeout(tmp_path):
    """The child ends itself (EXIT_TIMED_OUT) once the handler has run its timeout; the
    runner's kill is only the backstop for a child that cannot."""
    slow = "import time\ndef handler(event, context):\n    time.sleep(30)\n"
    function = _function(tmp_path, 1, slow)
    env = runner._environment(function, "http://127.0.0.1:9", "r-self")
    env[RESULT_FILE] = str(tmp_path / "result.json")
    child = subprocess.run(
        [sys.executable, str(runner.BOOTSTRAP)],
        cwd=function.source_dir,
        env=env,
        input=b"{}",
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == EXIT_TIMED_OUT, child.stdout
    assert not (tmp_path / "result.json").exists()  # no answer, as Lambda gives none


def test_a_function_without_a_source_folder_is_a_500_saying_so(tmp_path):
    function = Function("fn", "app.handler", 3, 128, "python3.12", "arn:fn", {}, None)
    outcome = runner.invoke(
        function,
        {},
        endpoint="http://127.0.0.1:9",
        log_dir=tmp_path,
        request_id="r2",
        integration_timeout_ms=30_000,
    )
    assert outcome.kind == "no-source"
    assert _integration_response(outcome).status == 500
    assert "no source folder for fn" in (tmp_path / "fn.log").read_text()


def test_a_failure_behind_the_gateway_is_answered_and_logged_not_dropped(tmp_path):
    """The emulator gone mid-request (S3 failing under the CDN): a 502 and its line in the
    access log, never a dropped connection."""
    import threading
    import types
    import urllib.error
    import urllib.request

    from ops import local_aws
    from ops.gateway.server import _server

    def failing(*_):
        raise ConnectionError("the emulator went away")

    (tmp_path / "gateway").mkdir()
    stub = types.SimpleNamespace(run_dir=tmp_path, cdn=types.SimpleNamespace(serve=failing))
    port = local_aws.free_port()
    server = _server(stub, "cdn", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(urllib.error.HTTPError) as answered:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/images/1.png", timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    assert (answered.value.code, answered.value.read()) == (502, b'{"message":"Bad Gateway"}')
    # The line is written once the answer is sent, by the request's own thread.
    access_log = tmp_path / "gateway" / "access.log"
    wait_until(lambda: access_log.is_file() and "status=502" in access_log.read_text(), "logged")
    log = access_log.read_text()
    assert "cdn GET /images/1.png route=- status=502" in log
    assert "failed: ConnectionError: the emulator went away" in log
