"""Create the Terraform state bucket of an account and its CI identity, and move the bootstrap's
own state into it (the two-step every account goes through once); in the account that holds the
parent zone, then apply the stages' DNS delegation roles.

    python -m ops.bootstrap ACCOUNT [--outdir DIR]

ACCOUNT: a stage (its account: dev, staging, production; `local` on the emulator), `previews`
(the account of the preview and personal stages), or `dns` (the account that holds
lego-api.com: its state bucket, then its delegation roles, image-service-dns-<account id>,
with their state in that bucket; `local-dns` on the emulator). stacks/settings/accounts.py says
what each account holds.

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

For `dns`, step 3: the delegation roles' stack is planned, guarded and applied with its state
in the account's bucket (`image-service/dns/terraform.tfstate`). Run it after every stage
account's bootstrap: each writer trusts its stage's deploy role, which IAM requires to exist.

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
from dataclasses import dataclass
from pathlib import Path

from constructs_lib.errors import Problem
from ops import synthesis_cache
from ops.app_stacks import refuse_placeholders, require_credentials
from ops.cdktf import cdktf_env
from ops.plan_guard import guarded_apply
from ops.toolchain import OUTDIR, ROOT, Child, check_toolchain, graceful_interrupts
from ops.toolchain import terraform as run_terraform
from stacks.cli import BOOTSTRAP_FORMS, DNS_FORM
from stacks.errors import ImageServiceError, ToolchainError, report
from stacks.settings import BOOTSTRAP_STATE_KEY, LOCAL_STATE_FILE, AccountSettings
from stacks.settings.accounts import DNS_STATE_KEY, AccountSetup, account_setup

# What the S3 backend says when its bucket is missing (Terraform 1.10+).
_NO_BUCKET = ("does not exist", "NoSuchBucket")


class Forms:
    """The bootstrap stack's two forms, synthesized once (`python -m stacks.cli bootstrap`, a
    child that an interrupt stops as any synthesis; skipped while the last one is current:
    ops/synthesis_cache.py), put in the stack's directory in turn."""

    def __init__(self, name: str, outdir: Path, setup: AccountSetup, env: dict[str, str]):
        self.root = outdir / ".bootstrap" / name
        forms = (*BOOTSTRAP_FORMS, *((DNS_FORM,) if setup.dns else ()))
        record = outdir / f".synthesis-bootstrap-{name}.key"
        outputs = [self.root / form for form in forms]
        if synthesis_cache.is_current(record, outputs, name, env):
            return
        synthesis_cache.forget(record)
        code = (
            Child(
                [sys.executable, "-m", "stacks.cli", "bootstrap", name, str(self.root)],
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
        synthesis_cache.remember(record, outputs, name, env)

    def use(self, form: str, stack_dir: Path) -> None:
        """Put the form's configuration (cdk.tf.json and its assets) in the stack directory, and
        its entry in the output directory's manifest (the cdktf CLI reads it: `bin/cdktf diff
        --skip-synth` of the stack); the manifest's other stacks stay as they are."""
        synthesized, stack = self.root / form, stack_dir.name
        shutil.copytree(synthesized / "stacks" / stack, stack_dir, dirs_exist_ok=True)
        ours = json.loads((synthesized / "manifest.json").read_text())
        target = stack_dir.parent.parent / "manifest.json"
        try:
            manifest = json.loads(target.read_text())
        except (OSError, ValueError):
            manifest = {"version": ours["version"], "stacks": {}}
        manifest["stacks"][stack] = ours["stacks"][stack]
        scratch = target.with_name(f".manifest.{os.getpid()}.json")
        scratch.write_text(json.dumps(manifest, indent=2))
        scratch.replace(target)


@dataclass(frozen=True)
class _Stack:
    """One of the bootstrap's stacks, as the checks before anything is contacted see it."""

    name: str
    on_emulator: bool
    account: AccountSettings
    problems: tuple[Problem, ...]

    def placeholder_problems(self) -> list[Problem]:
        return list(self.problems)


def bootstrap(name: str, outdir: Path = OUTDIR, env: dict[str, str] | None = None) -> str:
    """Steps 1 and 2 for the account `name` names (and for the DNS account, step 3); returns
    what was done, a line per step."""
    setup = account_setup(name)
    env = env or cdktf_env()  # with the running emulator's endpoint, as bin/cdktf has it
    check_toolchain()
    stack = _Stack(
        setup.stack_name, setup.on_emulator, setup.account, tuple(setup.placeholder_problems())
    )
    refuse_placeholders("ops.bootstrap", [stack])
    require_credentials(stack, env, "ops.bootstrap")
    forms = Forms(name, outdir, setup, env)
    done = _state_stack(setup, forms, outdir / "stacks" / setup.stack_name, env)
    if setup.dns is None:
        return done
    return f"{done}\n{_dns_stack(setup, forms, outdir / 'stacks' / setup.dns_stack_name, env)}"


def _state_stack(setup: AccountSetup, forms: Forms, stack_dir: Path, env: dict[str, str]) -> str:
    stack, bucket = setup.stack_name, setup.state.bucket
    where = f"s3://{bucket}/{BOOTSTRAP_STATE_KEY}"
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
                "Fix: check the credentials for the account (stacks/settings/stages.py, "
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


def _dns_stack(setup: AccountSetup, forms: Forms, stack_dir: Path, env: dict[str, str]) -> str:
    """Step 3, in the DNS account: the delegation roles, their state in the account's bucket."""
    assert setup.dns is not None
    forms.use(DNS_FORM, stack_dir)
    run_terraform(stack_dir, "init", "-input=false", "-no-color", "-reconfigure", env=env)
    _apply(stack_dir, env)
    stages = ", ".join(zone.stage for zone in setup.dns.zones) or "no stage"
    return (
        f"{setup.dns_stack_name}: the delegation roles of {setup.dns.parent_zone_name} "
        f"(a writer for {stages}, and the reader) are applied; their state is in "
        f"s3://{setup.state.bucket}/{DNS_STATE_KEY}"
    )


def _apply(stack_dir: Path, env: dict[str, str]) -> None:
    """Plan, guard and apply the bootstrap stack (a refused plan raises PlanRefused: exit 3)."""
    guarded_apply(stack_dir, set(), env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.bootstrap",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "account",
        help="a stage of the account (dev, staging, production; local on the emulator), "
        "previews, or dns (local-dns on the emulator)",
    )
    parser.add_argument("--outdir", type=Path, default=OUTDIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        with graceful_interrupts():
            print(bootstrap(args.account, args.outdir))
    except ImageServiceError as exc:
        return report(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
