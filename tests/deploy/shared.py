"""The test session's emulator deployments: one per stack shape, applied once, in a process of
their own that the session starts first (tests/conftest.py), while the rest of the suite runs.

- `local`: image-service-local, the fast shapes of `make up`, with one test handler attached
  (GetImage on GET /images/{imageId}, reading the table and images/* of the bucket).
- `local-production`: image-service-local-production with production's exact shapes and data
  protection (~60 s to apply, ~55 s of it asleep in the AWS provider's lifecycle-configuration
  poll: waited for here, not by a pytest worker), plus one certificate with a second name in
  its zone and one handler in its network (its cache is off on the emulator).

    python -m tests.deploy.shared RUN_DIR      (the session starts it: deployments_dir())

Each shape gets its own emulator (RUN_DIR/<shape>/local-aws), recording every call it is sent
(RUN_DIR/<shape>/calls.jsonl: ops/action_log.py), and synthesis (RUN_DIR/<shape>/cdktf.out);
both are synthesized in this one process (one jsii runtime), the slow shape first so that its
apply starts soonest. RUN_DIR/<shape>/result is JSON: {"endpoint", "outdir"} once
applied, or {"error"}. The emulators keep running after this process exits, until the session
stops them (`stop`). The test modules read them through `deployment(shape)`; tests that change a
deployment restore it within their own fixture.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops import local_aws

ROOT = Path(__file__).resolve().parents[2]

HANDLER_FUNCTION = "image-service-local-get-image"
HANDLER_ROUTE = "GET /images/{imageId}"
# The handlers the local gateway's tests call (tests/handler_source.py): POST /images answers
# a presigned upload, GET /images each way a function can answer (2 s timeout, to time out
# quickly); PATCH and DELETE /images/{imageId} keep no integration.
UPLOAD_FUNCTION, UPLOAD_ROUTE = "image-service-local-create-upload", "POST /images"
BEHAVIOURS_FUNCTION, BEHAVIOURS_ROUTE = "image-service-local-behaviours", "GET /images"
BEHAVIOURS_TIMEOUT_SECONDS = 2


def attach_test_handler(stack: Any, source_root: Path) -> None:
    """The handler the next epic would add first, attached to image-service-local, and the
    two the local gateway's tests call."""
    from constructs_lib.image_handler.construct import ImageHandler, ImageHandlerProps
    from tests.handler_source import (
        BEHAVIOURS_HANDLER_SOURCE,
        UPLOAD_HANDLER_SOURCE,
        write_handler_source,
    )

    source = write_handler_source(source_root / "get_image")
    handler = ImageHandler(
        stack,
        "GetImage",
        ImageHandlerProps(name=HANDLER_FUNCTION, source_dir=source, handler="app.handler"),
    )
    stack.table.grant_read_data(handler)
    stack.bucket.grant_read(handler, key_pattern="images/*")
    stack.add_service_environment(handler)
    stack.api.integrate(HANDLER_ROUTE, handler)
    upload = ImageHandler(
        stack,
        "CreateUpload",
        ImageHandlerProps(
            name=UPLOAD_FUNCTION,
            source_dir=write_handler_source(source_root / "create_upload", UPLOAD_HANDLER_SOURCE),
            handler="app.handler",
        ),
    )
    stack.bucket.grant_put(upload, key_pattern="images/*")
    stack.add_service_environment(upload)
    stack.api.integrate(UPLOAD_ROUTE, upload)
    behaviours = ImageHandler(
        stack,
        "Behaviours",
        ImageHandlerProps(
            name=BEHAVIOURS_FUNCTION,
            source_dir=write_handler_source(source_root / "behaviours", BEHAVIOURS_HANDLER_SOURCE),
            handler="app.handler",
            timeout_seconds=BEHAVIOURS_TIMEOUT_SECONDS,
            environment={"GREETING": "hello"},
        ),
    )
    stack.api.integrate(BEHAVIOURS_ROUTE, behaviours)


NETWORKED_FUNCTION = "image-service-local-production-warm-cache"


def attach_networked_handler(stack: Any, source_root: Path, name: str) -> Any:
    """A handler that joins the stage's network and, where the stage has one, is granted its
    cache (issue 28: one prop and one grant), reading the table besides."""
    from constructs_lib.image_handler.construct import ImageHandler, ImageHandlerProps
    from tests.handler_source import write_handler_source

    handler = ImageHandler(
        stack,
        "WarmCache",
        ImageHandlerProps(
            name=name,
            source_dir=write_handler_source(source_root / "warm_cache"),
            handler="app.handler",
            network=stack.network,
        ),
    )
    stack.table.grant_read_data(handler)
    if stack.cache is not None:
        stack.cache.grant_connect(handler)
    return handler


# A certificate with a second name, validated in the stage's zone beside the shipped two
# (issue 26: keyed by domain name, a second name plans and applies).
SECOND_NAME_CERTIFICATE = ("san.images.lego-api.com", "www.san.images.lego-api.com")


def attach_certificate_with_a_second_name(stack: Any) -> None:
    from constructs_lib.domains.construct import DnsValidatedCertificate
    from constructs_lib.domains.props import DnsValidatedCertificateProps

    name, second = SECOND_NAME_CERTIFICATE
    DnsValidatedCertificate(
        stack,
        "SecondNameCertificate",
        DnsValidatedCertificateProps(
            domain_name=name, alternative_names=(second,), zone_id=stack.domains.zone_id
        ),
    )


@dataclass(frozen=True)
class Shape:
    stage: str
    attach_handler: bool = False
    attach_second_name_certificate: bool = False
    attach_networked_handler: bool = False

    @property
    def stack(self) -> str:
        return f"image-service-{self.stage}"


# The test modules that read them: the session starts the deployments when it runs these.
NEEDED_BY = (
    "tests/deploy/test_local_deploy.py",
    "tests/deploy/test_local_gateway.py",
    "tests/deploy/test_drill.py",
    "tests/deploy/test_production_deploy.py",
)
# The slow one first: its apply starts as soon as it is synthesized.
SHAPES = {
    "local-production": Shape(
        "local-production", attach_second_name_certificate=True, attach_networked_handler=True
    ),
    "local": Shape("local", attach_handler=True),
}


def deployments_dir() -> Path:
    """The session's deployments: in the test session's directory (tests/session.py)."""
    from tests.session import session_dir  # (tests.session imports no cdktf)

    return session_dir() / "deployments"


def shape_dir(run_dir: Path, shape: str) -> Path:
    return run_dir / shape


def calls_record(run_dir: Path, shape: str) -> Path:
    """Every call the shape's emulator is sent, as ops/action_log.py records it (read by
    tests/policies/recorded.py)."""
    return shape_dir(run_dir, shape) / "calls.jsonl"


# ---- the session's side ----------------------------------------------------------------------
def start(run_dir: Path) -> None:
    """Start the deployments in the background unless already started for run_dir (an flock
    makes the check and the start one step, whichever process gets there first)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (run_dir / "pid").exists():
            return
        log = open(run_dir / "log", "wb")  # noqa: SIM115  (the child writes to it)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.deploy.shared", str(run_dir)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        (run_dir / "pid").write_text(str(proc.pid))


def result(run_dir: Path, shape: str, timeout: float = 600.0) -> dict[str, Any]:
    """Wait until the shape is applied (or failed): its result."""
    start(run_dir)  # started by the session already, unless this run selected it late
    path = shape_dir(run_dir, shape) / "result"
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            return {"error": f"no result after {timeout:.0f} s; see {run_dir}/log"}
        if not _running(run_dir) and not path.exists():
            return {"error": f"the deployment process stopped without a result; see {run_dir}/log"}
        time.sleep(0.2)
    outcome: dict[str, Any] = json.loads(path.read_text())
    return outcome


def _running(run_dir: Path) -> bool:
    try:
        pid = int((run_dir / "pid").read_text())
    except (OSError, ValueError):
        return False
    return local_aws.alive(pid)


def stop(run_dir: Path) -> None:
    """Stop the deployment process (if still applying) and every shape's emulator."""
    with suppress(OSError, ValueError, ProcessLookupError):
        pid = int((run_dir / "pid").read_text())
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while local_aws.alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    for shape in SHAPES:
        local_aws.down(shape_dir(run_dir, shape) / "local-aws")


# ---- the deployment process ------------------------------------------------------------------
def _deploy(shape: Shape, endpoint: str, outdir: Path) -> dict[str, Any]:
    """The state bucket (one S3 call: test_make_up.py and test_bootstrap_deploy.py apply the
    bootstrap stack as `make up` and `ops.bootstrap` do), then the stack."""
    from ops.toolchain import terraform
    from stacks.settings import LOCAL_STATE
    from tests.deploy.deployment import Deployment

    deployment = Deployment.at(endpoint, outdir, (shape.stage,))
    deployment.client("s3").create_bucket(Bucket=LOCAL_STATE.bucket)
    stack_dir = deployment.stack_dir(shape.stack)
    terraform(stack_dir, "init", "-input=false", "-no-color", env=deployment.env)
    terraform(stack_dir, "apply", "-auto-approve", "-input=false", "-no-color", env=deployment.env)
    return {"endpoint": endpoint, "outdir": str(outdir)}


def _write_result(run_dir: Path, shape: str, outcome: dict[str, Any]) -> None:
    path = shape_dir(run_dir, shape) / "result"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".tmp").write_text(json.dumps(outcome))
    path.with_suffix(".tmp").replace(path)


def _stopped(signum: int, frame: object) -> None:
    """Stopped by the session (`stop`): Terraform runs in process groups of its own, so it is
    stopped here, at once (its emulator is about to go too)."""
    from ops.toolchain import kill_children

    kill_children()
    os._exit(128 + signum)


def main(argv: list[str]) -> int:
    run_dir = Path(argv[0])
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    signal.signal(signal.SIGTERM, _stopped)
    emulators: dict[str, Any] = {}

    def start_emulator(name: str) -> None:
        directory = shape_dir(run_dir, name) / "local-aws"
        emulators[name] = local_aws.up(
            directory, port=local_aws.free_port(), record_to=calls_record(run_dir, name)
        )

    starting = [threading.Thread(target=start_emulator, args=(name,)) for name in SHAPES]
    for thread in starting:
        thread.start()
    outcomes: dict[str, dict[str, Any]] = {}
    appliers: dict[str, threading.Thread] = {}
    try:
        from stacks.app import build_app  # cdktf: loaded while the emulators start
        from stacks.cli import write_handler_sources
        from stacks.settings import emulator_stage_settings

        for thread in starting:
            thread.join()
        for name, shape in SHAPES.items():
            if name not in emulators:
                raise RuntimeError(f"the emulator of {name} did not start; see its log")
            endpoint = emulators[name].endpoint
            outdir = shape_dir(run_dir, name) / "cdktf.out"
            settings = emulator_stage_settings(shape.stage, endpoint=endpoint)
            app = build_app([settings], outdir=str(outdir))
            if shape.attach_handler:
                attach_test_handler(
                    app.node.find_child(shape.stack), shape_dir(run_dir, name) / "handlers"
                )
            if shape.attach_second_name_certificate:
                attach_certificate_with_a_second_name(app.node.find_child(shape.stack))
            if shape.attach_networked_handler:
                attach_networked_handler(
                    app.node.find_child(shape.stack),
                    shape_dir(run_dir, name) / "handlers",
                    NETWORKED_FUNCTION,
                )
            app.synth()
            write_handler_sources(app, outdir)

            def apply(name: str = name, endpoint: str = endpoint, outdir: Path = outdir) -> None:
                try:
                    outcomes[name] = _deploy(SHAPES[name], endpoint, outdir)
                except BaseException:  # reported to the tests that read the result
                    outcomes[name] = {"error": traceback.format_exc()}
                _write_result(run_dir, name, outcomes[name])

            applier = threading.Thread(target=apply)
            applier.start()
            appliers[name] = applier
    except BaseException:
        error = {"error": traceback.format_exc()}
        for name in SHAPES:
            if name not in appliers:
                _write_result(run_dir, name, error)
    for applier in appliers.values():
        applier.join()
    return 0 if all("error" not in o for o in outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
