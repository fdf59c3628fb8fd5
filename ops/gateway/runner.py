"""One invocation of a handler from its source folder, in a child Python process of its own
(ops/gateway/bootstrap.py), as Lambda would run it: the function's handler string, its
environment plus the emulator's endpoint and credentials, its timeout, and its output in
`.run/local-aws/logs/<function>.log` with Lambda's START / END / REPORT lines.

The child runs on this machine's Python (the project's virtualenv, whose boto3 stands in for
the runtime's), not the function's runtime image; it gets none of the developer's environment
besides PATH, HOME and the locale: no AWS credentials or profiles, so a handler can only reach
the emulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops import local_aws
from ops.gateway.bootstrap import CALLED_SUFFIX, EXIT_TIMED_OUT, RESULT_FILE, TIMEOUT_SECONDS
from ops.gateway.config import Function

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
# What the child keeps of this process's environment.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
# Lambda's limit on the Init phase (the interpreter's start and the handler module's import),
# before the function's own timeout starts (ops/gateway/bootstrap.py).
INIT_LIMIT_SECONDS = 10
_log_locks: dict[str, threading.Lock] = {}


@dataclass(frozen=True)
class Outcome:
    """ "result" (the handler returned `value`), "error" (it raised: `value` is Lambda's error
    object), "timeout" (it ran past its own timeout), "gateway-timeout" (past the
    integration's 30 s before its own timeout), "crash" (the process died without an answer),
    or "no-source" (the synthesis recorded no folder for it)."""

    kind: str
    value: Any = None
    detail: str = ""


def log_path(log_dir: Path, function: str) -> Path:
    return log_dir / f"{function}.log"


def _environment(function: Function, endpoint: str, request_id: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in INHERITED if k in os.environ}
    env.update(function.environment)
    env.update(local_aws.client_env(endpoint))
    env.update(
        {
            "AWS_REGION": env["AWS_DEFAULT_REGION"],
            # Nothing of the developer's AWS configuration (a profile's endpoint or keys).
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{request_id}",
            "AWS_EXECUTION_ENV": "AWS_Lambda_local_gateway",
            "LAMBDA_TASK_ROOT": str(function.source_dir),
            "_HANDLER": function.handler,
            "IMAGE_SERVICE_FUNCTION_ARN": function.arn,
            "IMAGE_SERVICE_REQUEST_ID": request_id,
            TIMEOUT_SECONDS: str(function.timeout_seconds),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def invoke(
    function: Function,
    event: dict[str, Any],
    *,
    endpoint: str,
    log_dir: Path,
    request_id: str,
    integration_timeout_ms: int,
) -> Outcome:
    """Run the handler once; its output is appended to its log file either way."""
    if function.source_dir is None or not function.source_dir.is_dir():
        missing = Outcome(
            "no-source",
            detail=f"no source folder for {function.name} (the synthesis records one per "
            "ImageHandler in local-handlers.json; run `make up`)",
        )
        _log(log_dir, function, request_id, "", Durations(0.0), missing)
        return missing
    own = function.timeout_seconds
    gateway = integration_timeout_ms / 1000
    started, spawned = time.monotonic(), time.time()
    with tempfile.TemporaryDirectory(prefix="image-service-invoke-") as scratch:
        result_file = Path(scratch) / "result.json"
        env = _environment(function, endpoint, request_id)
        env[RESULT_FILE] = str(result_file)
        child = subprocess.Popen(
            [sys.executable, str(BOOTSTRAP)],
            cwd=function.source_dir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            # The child stops its handler at its own timeout; this bounds the rest (an Init
            # past its limit, a handler holding the interpreter) and API Gateway's cap.
            output, _ = child.communicate(
                json.dumps(event).encode(), timeout=min(gateway, INIT_LIMIT_SECONDS + own + 1)
            )
            stopped = child.returncode == EXIT_TIMED_OUT
        except subprocess.TimeoutExpired:
            child.kill()
            output, _ = child.communicate()
            stopped = True
        elapsed = time.monotonic() - started
        outcome = _outcome(stopped, elapsed >= gateway, own, result_file, child.returncode)
        durations = _durations(spawned, time.time(), result_file)
    _log(log_dir, function, request_id, output.decode(errors="replace"), durations, outcome)
    return outcome


def _outcome(
    stopped: bool, past_gateway: bool, own: int, result_file: Path, code: int | None
) -> Outcome:
    if stopped:
        if past_gateway:
            return Outcome("gateway-timeout", detail="the integration ran past API Gateway's 30 s")
        return Outcome("timeout", detail=f"Task timed out after {own:.2f} seconds")
    try:
        payload = json.loads(result_file.read_text())
    except (OSError, ValueError):
        return Outcome("crash", detail=f"the handler's process exited with {code} and no answer")
    if "error" in payload:
        error = payload["error"]
        return Outcome("error", error, f"{error['errorType']}: {error['errorMessage']}")
    return Outcome("result", payload["result"])


@dataclass(frozen=True)
class Durations:
    """An invocation's time in seconds: the handler's call (`run`), and before it the Init
    phase (`init`: the interpreter's start and the module's import), None if it never ended."""

    run: float
    init: float | None = None


def _durations(spawned: float, ended: float, result_file: Path) -> Durations:
    try:
        called = float(Path(f"{result_file}{CALLED_SUFFIX}").read_text())
    except (OSError, ValueError):
        return Durations(ended - spawned)  # Init never ended: all of it counts
    return Durations(ended - called, called - spawned)


def _log(
    log_dir: Path,
    function: Function,
    request_id: str,
    output: str,
    durations: Durations,
    outcome: Outcome,
) -> None:
    """The invocation's lines, as Lambda writes them to the function's log group."""
    log_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"START RequestId: {request_id} Version: $LATEST\n", output]
    if output and not output.endswith("\n"):
        lines.append("\n")
    if outcome.kind in ("timeout", "gateway-timeout", "crash", "no-source"):
        lines.append(f"{_stamp()} {request_id} {outcome.detail}\n")
    lines.append(f"END RequestId: {request_id}\n")
    # Lambda's REPORT fields, in its order (Init Duration on a cold start: every call here is).
    report = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {durations.run * 1000:.2f} ms",
        f"Memory Size: {function.memory_mb} MB",
    ]
    if durations.init is not None:
        report.append(f"Init Duration: {durations.init * 1000:.2f} ms")
    lines.append("\t".join(report) + "\n")
    lock = _log_locks.setdefault(function.name, threading.Lock())
    with lock, open(log_path(log_dir, function.name), "a") as log:
        log.write("".join(lines))


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
