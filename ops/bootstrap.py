"""Create the Terraform state bucket of a stage's account, and move the bootstrap's own state
into it (the two-step every account goes through once).

    python -m ops.bootstrap STAGE [--outdir DIR]

1. If the account's state bucket does not exist yet: the bootstrap stack
   (image-service-state-<account id>) is synthesized with local state, planned, checked by the
   plan guard and applied. The bucket now exists; the bootstrap's state is a file beside the
   stack.
2. The stack is synthesized again with its state in that bucket
   (`image-service/bootstrap/terraform.tfstate`), and `terraform init -migrate-state` copies the
   local state there. Once the bucket's copy lists the bucket, the local file is removed: no
   state lives only on one machine.

Run again, it finds the bucket and its own state there and applies what changed (usually
nothing). Stopped between the steps, the next run finds the local state and does step 2.
On the emulator (`local`) it does the same against the emulator's S3.

Exit codes: 0 done; 2 a setting, the toolchain or Terraform failed (the message says which
step, and that running again resumes); 3 the plan guard refused; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ops.cdktf import cdktf_env
from ops.plan_guard import guarded_apply, refusal
from ops.review import require_credentials
from ops.toolchain import OUTDIR, check_toolchain, graceful_interrupts, synthesize
from ops.toolchain import terraform as run_terraform
from stacks.errors import EXIT_REFUSED, ImageServiceError, ToolchainError, report
from stacks.settings import (
    BOOTSTRAP_STATE_ENV,
    BOOTSTRAP_STATE_KEY,
    LOCAL_STATE_FILE,
    STAGES_ENV,
    bootstrap_stack_name,
    stack_name,
    stage_settings,
)

# What the S3 backend says when its bucket is missing (Terraform 1.10+).
_NO_BUCKET = ("does not exist", "NoSuchBucket")


def _synthesize(stage: str, outdir: Path, where: str, env: dict[str, str]) -> None:
    code = synthesize(outdir, {**env, STAGES_ENV: stage, BOOTSTRAP_STATE_ENV: where})
    if code != 0:
        raise ToolchainError(f"synthesis failed (exit {code}); the message above says why")


def bootstrap(stage: str, outdir: Path = OUTDIR, env: dict[str, str] | None = None) -> str:
    """Steps 1 and 2 for `stage`'s account; returns what was done, in one line."""
    settings = stage_settings(stage)
    env = env or cdktf_env()  # with the running emulator's endpoint, as bin/cdktf has it
    check_toolchain()
    stack = bootstrap_stack_name(settings)
    require_credentials(stack_name(stage), env, "ops.bootstrap")
    stack_dir = outdir / "stacks" / stack
    bucket = settings.state.bucket
    where = f"s3://{bucket}/{BOOTSTRAP_STATE_KEY}"

    resumed = (stack_dir / LOCAL_STATE_FILE).exists()
    if resumed:
        # A run stopped between the steps (or, on the emulator, `make up`, whose bootstrap keeps
        # local state) left the bootstrap's state here: point Terraform at it again, so that
        # step 2 has a backend to move it from.
        _synthesize(stage, outdir, "local", env)
        run_terraform(stack_dir, "init", "-input=false", "-no-color", "-reconfigure", env=env)
    else:
        _synthesize(stage, outdir, "bucket", env)
        init = run_terraform(
            stack_dir, "init", "-input=false", "-no-color", "-reconfigure", env=env, check=False
        )
        if init.returncode == 0:
            _apply(stack_dir, env)
            return f"{stack}: the state bucket {bucket} exists and holds its own state ({where})"
        output = init.stdout + init.stderr
        if not any(text in output for text in _NO_BUCKET):
            raise ToolchainError(
                f"{stack}: terraform init with the state in {bucket} failed:\n{output.strip()}\n"
                "Fix: check the credentials for the stage's account (stacks/settings.py, "
                "ACCOUNTS), then run again"
            )
        # Step 1: the bucket does not exist yet; create it with local state.
        print(f"{stack}: creating the state bucket {bucket} (state kept locally for now)")
        _synthesize(stage, outdir, "local", env)
        run_terraform(stack_dir, "init", "-input=false", "-no-color", "-reconfigure", env=env)
        _apply(stack_dir, env)

    # Step 2: move the local state into the bucket it created.
    print(f"{stack}: moving its own state into {where}")
    _synthesize(stage, outdir, "bucket", env)
    run_terraform(
        stack_dir, "init", "-input=false", "-no-color", "-migrate-state", "-force-copy", env=env
    )
    listed = run_terraform(stack_dir, "state", "list", env=env).stdout.split()
    if not any(address.startswith("aws_s3_bucket.") for address in listed):
        raise ToolchainError(
            f"{stack}: after the move, the state in {where} does not list the bucket; the local "
            f"copy {stack_dir / LOCAL_STATE_FILE} was kept. Fix: check that object, then run again"
        )
    for leftover in (LOCAL_STATE_FILE, f"{LOCAL_STATE_FILE}.backup"):
        (stack_dir / leftover).unlink(missing_ok=True)
    if resumed:
        return f"{stack}: the state bucket {bucket} existed; its own state is now in {where}"
    return f"{stack}: created the state bucket {bucket}; its own state is now in {where}"


class _Refused(ImageServiceError):
    exit_code = EXIT_REFUSED


def _apply(stack_dir: Path, env: dict[str, str]) -> None:
    """Plan, guard and apply the bootstrap stack; a refused plan stops with exit 3."""
    losses = guarded_apply(stack_dir, set(), env)
    if losses:
        raise _Refused(refusal(stack_dir.name, losses))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.bootstrap",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("stage", help="a stage of the account, e.g. dev (or local)")
    parser.add_argument("--outdir", type=Path, default=OUTDIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        with graceful_interrupts():
            print(bootstrap(args.stage, args.outdir))
    except ImageServiceError as exc:
        return report(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
