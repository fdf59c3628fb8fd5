"""Create the Terraform state bucket of a stage's account, and move the bootstrap's own state
into it (the two-step every account goes through once).

    python -m ops.bootstrap STAGE [--outdir DIR]

The bootstrap stack (image-service-state-<account id>) is synthesized once, alone, in both of
its forms (its own state in a local file, and in the bucket: stacks/cli.py, synth_bootstrap).
1. If the account's state bucket does not exist yet: the local-state form is planned, checked by
   the plan guard and applied. The bucket now exists; the bootstrap's state is a file beside the
   stack.
2. The bucket form takes its place (its state in `image-service/bootstrap/terraform.tfstate`),
   and `terraform init -migrate-state` copies the local state there. Once the bucket's copy
   lists the bucket, the local file is removed: no state lives only on one machine.

Run again, it finds the bucket and its own state there and applies what changed (usually
nothing). Stopped between the steps, the next run finds the local state and does step 2.
On the emulator (`local`) it does the same against the emulator's S3.

Exit codes: 0 done; 2 a setting, the toolchain or Terraform failed (the message says which
step, and that running again resumes); 3 the plan guard refused; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
from pathlib import Path

from ops import synthesis_cache
from ops.app_stacks import refuse_placeholders, require_credentials
from ops.cdktf import cdktf_env
from ops.plan_guard import guarded_apply
from ops.toolchain import OUTDIR, ROOT, Child, check_toolchain, graceful_interrupts
from ops.toolchain import terraform as run_terraform
from stacks.cli import BOOTSTRAP_FORMS
from stacks.errors import ImageServiceError, ToolchainError, report
from stacks.settings import (
    BOOTSTRAP_STATE_KEY,
    LOCAL_STATE_FILE,
    AppStack,
    bootstrap_stack_name,
    stage_settings,
)

# What the S3 backend says when its bucket is missing (Terraform 1.10+).
_NO_BUCKET = ("does not exist", "NoSuchBucket")


class Forms:
    """The bootstrap stack's two forms, synthesized once (`python -m stacks.cli bootstrap`, a
    child that an interrupt stops as any synthesis; skipped while the last one is current:
    ops/synthesis_cache.py), put in the stack's directory in turn."""

    def __init__(self, stage: str, outdir: Path, stack: str, env: dict[str, str]):
        self.root = outdir / ".bootstrap"
        self.stack = stack
        record = outdir / f".synthesis-{stack}.key"
        outputs = [self.root / form for form in BOOTSTRAP_FORMS]
        if synthesis_cache.is_current(record, outputs, stage, env):
            return
        synthesis_cache.forget(record)
        code = (
            Child(
                [sys.executable, "-m", "stacks.cli", "bootstrap", stage, str(self.root)],
                what="the synthesis",
                cwd=ROOT,
                env=env,
                capture=False,
                stop_signal=signal.SIGTERM,
            )
            .wait()
            .returncode
        )
        if code != 0:
            raise ToolchainError(f"synthesis failed (exit {code}); the message above says why")
        synthesis_cache.remember(record, outputs, stage, env)

    def use(self, form: str, stack_dir: Path) -> None:
        """Put the form's configuration (cdk.tf.json and its assets) in the stack directory, and
        its entry in the output directory's manifest (the cdktf CLI reads it: `bin/cdktf diff
        --skip-synth` of the stack); the manifest's other stacks stay as they are."""
        synthesized = self.root / form
        shutil.copytree(synthesized / "stacks" / self.stack, stack_dir, dirs_exist_ok=True)
        ours = json.loads((synthesized / "manifest.json").read_text())
        target = stack_dir.parent.parent / "manifest.json"
        try:
            manifest = json.loads(target.read_text())
        except (OSError, ValueError):
            manifest = {"version": ours["version"], "stacks": {}}
        manifest["stacks"][self.stack] = ours["stacks"][self.stack]
        scratch = target.with_name(f".manifest.{os.getpid()}.json")
        scratch.write_text(json.dumps(manifest, indent=2))
        scratch.replace(target)


def bootstrap(stage: str, outdir: Path = OUTDIR, env: dict[str, str] | None = None) -> str:
    """Steps 1 and 2 for `stage`'s account; returns what was done, in one line."""
    settings = stage_settings(stage)
    env = env or cdktf_env()  # with the running emulator's endpoint, as bin/cdktf has it
    check_toolchain()
    stack = bootstrap_stack_name(settings)
    app_stack = AppStack(stack, "state", settings)
    refuse_placeholders("ops.bootstrap", [app_stack])
    require_credentials(app_stack, env, "ops.bootstrap")
    stack_dir = outdir / "stacks" / stack
    bucket = settings.state.bucket
    where = f"s3://{bucket}/{BOOTSTRAP_STATE_KEY}"

    forms = Forms(stage, outdir, stack, env)
    resumed = (stack_dir / LOCAL_STATE_FILE).exists()
    if resumed:
        # A run stopped between the steps (or, on the emulator, `make up`, whose bootstrap keeps
        # local state) left the bootstrap's state here: point Terraform at it again, so that
        # step 2 has a backend to move it from.
        forms.use("local", stack_dir)
        run_terraform(stack_dir, "init", "-input=false", "-no-color", "-reconfigure", env=env)
    else:
        forms.use("bucket", stack_dir)
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
                "Fix: check the credentials for the stage's account (stacks/settings/stages.py, "
                "ACCOUNTS), then run again"
            )
        # Step 1: the bucket does not exist yet; create it with local state.
        print(f"{stack}: creating the state bucket {bucket} (state kept locally for now)")
        forms.use("local", stack_dir)
        run_terraform(stack_dir, "init", "-input=false", "-no-color", "-reconfigure", env=env)
        _apply(stack_dir, env)

    # Step 2: move the local state into the bucket it created.
    print(f"{stack}: moving its own state into {where}")
    forms.use("bucket", stack_dir)
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


def _apply(stack_dir: Path, env: dict[str, str]) -> None:
    """Plan, guard and apply the bootstrap stack (a refused plan raises PlanRefused: exit 3)."""
    guarded_apply(stack_dir, set(), env)


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
