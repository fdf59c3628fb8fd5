"""The faithful deployment, run in the background from the start of the test session.

image-service-local-production with production's exact shapes takes ~60 s to apply, ~55 s of it
asleep in the AWS provider's lifecycle-configuration poll. Run inside a pytest-xdist worker, it
would hold that worker (and its share of a core) for the whole wait; started by the session
(tests/conftest.py, pytest_configure) in a process of its own, it waits beside the whole suite
and tests/deploy/test_faithful_deploy.py only inspects the result.

    python -m tests.deploy.faithful RUN_DIR     (what the session starts; writes RUN_DIR/result)

RUN_DIR/result is JSON: {"endpoint", "outdir"} once applied, or {"error"} if anything failed.
The emulator (RUN_DIR/local-aws) keeps running until the session stops it (`stop`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

from ops import local_aws

RUN_ENV = "IMAGE_SERVICE_FAITHFUL_RUN"
STAGE = "local-production"
STACK = "image-service-local-production"
MODULE = "tests/deploy/test_faithful_deploy.py"


def start(run_dir: Path) -> subprocess.Popen:
    run_dir.mkdir(parents=True, exist_ok=True)
    log = open(run_dir / "log", "wb")  # noqa: SIM115  (the child writes to it)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.deploy.faithful", str(run_dir)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


def result(run_dir: Path, timeout: float = 600.0) -> dict:
    """Wait for the background deployment's result."""
    deadline = time.monotonic() + timeout
    path = run_dir / "result"
    while not path.exists():
        if time.monotonic() > deadline:
            return {"error": f"no result after {timeout:.0f} s; see {run_dir}/log"}
        time.sleep(0.5)
    return json.loads(path.read_text())


def stop(process: subprocess.Popen, run_dir: Path) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)
    local_aws.down(run_dir / "local-aws")


def deploy(run_dir: Path) -> dict:
    # Imported here: the session only needs start/result/stop, this process needs cdktf.
    from ops.toolchain import terraform
    from tests.deploy.deployment import prepare

    # The bootstrap stack itself is applied by test_local_deploy.py, as `make up` does.
    deployment = prepare(
        run_dir / "local-aws", run_dir / "cdktf.out", (STAGE,), apply_state_bootstrap=False
    )
    stack_dir = deployment.stack_dir(STACK)
    terraform(stack_dir, "init", "-input=false", "-no-color", env=deployment.env)
    terraform(stack_dir, "apply", "-auto-approve", "-input=false", "-no-color", env=deployment.env)
    return {"endpoint": deployment.endpoint, "outdir": str(deployment.outdir)}


def main(argv: list[str]) -> int:
    run_dir = Path(argv[0])
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    try:
        outcome = deploy(run_dir)
    except BaseException:  # reported to the test that reads the result
        outcome = {"error": traceback.format_exc()}
    (run_dir / "result.tmp").write_text(json.dumps(outcome))
    (run_dir / "result.tmp").replace(run_dir / "result")
    return 0 if "error" not in outcome else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
