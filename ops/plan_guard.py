"""Refuse a plan that deletes or replaces a stateful resource (where production data lives).

    python -m ops.plan_guard STACK [--allow-data-loss ADDRESS ...]
    python -m ops.plan_guard --plan-json FILE [--allow-data-loss ADDRESS ...]

Plans STACK (already synthesized in cdktf.out), renders it with `terraform show -json` and exits
3, naming each resource and action, if the plan would delete or replace a metadata table, image
bucket, user pool or state bucket. `--allow-data-loss ADDRESS` accepts that one loss knowingly.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ops.toolchain import ROOT, check_toolchain, project_env
from stacks.errors import ToolchainError

# Resource types whose deletion loses data that Terraform cannot recreate.
STATEFUL_TYPES = {
    "aws_dynamodb_table": "metadata table",
    "aws_s3_bucket": "bucket (images or Terraform state)",
    "aws_cognito_user_pool": "user pool (user accounts)",
}
EXIT_REFUSED = 3


@dataclass(frozen=True)
class DataLoss:
    address: str
    kind: str
    action: str  # "delete" or "replace"


def find_data_loss(plan: dict) -> list[DataLoss]:
    losses = []
    for change in plan.get("resource_changes", []):
        kind = STATEFUL_TYPES.get(change.get("type", ""))
        actions = change.get("change", {}).get("actions", [])
        if kind is None or change.get("mode") == "data" or "delete" not in actions:
            continue
        action = "replace" if "create" in actions else "delete"
        losses.append(DataLoss(change["address"], kind, action))
    return losses


def refusal(stack: str, losses: list[DataLoss]) -> str:
    lines = [f"plan guard: refusing the plan for {stack}: it would lose data in "
             f"{len(losses)} stateful resource(s):"]
    for loss in losses:
        lines.append(f"  - {loss.action} {loss.address} ({loss.kind})")
    lines.append("Nothing was applied. If this is really intended (e.g. a dev table you will "
                 "re-create), re-run with --allow-data-loss ADDRESS for each resource above; "
                 "otherwise change the configuration so these resources are updated in place "
                 "(a changed table key schema or bucket name always forces replacement).")
    return "\n".join(lines)


def check(stack: str, plan: dict, allowed: set[str]) -> list[DataLoss]:
    """The losses not explicitly allowed."""
    return [loss for loss in find_data_loss(plan) if loss.address not in allowed]


def plan_json(stack_dir: Path, env: dict[str, str], destroy: bool = False) -> dict:
    terraform = check_toolchain()

    def run(*args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([terraform, *args], cwd=stack_dir, env=env, text=True,
                              capture_output=True)
        if proc.returncode != 0:
            raise ToolchainError(f"terraform {args[0]} failed in {stack_dir}:\n"
                                 f"{proc.stderr.strip() or proc.stdout.strip()}")
        return proc

    if not (stack_dir / ".terraform").is_dir():
        run("init", "-input=false", "-no-color")
    plan_file = "plan-guard.tfplan"
    run("plan", "-input=false", "-no-color", "-lock-timeout=60s", f"-out={plan_file}",
        *(["-destroy"] if destroy else []))
    try:
        return json.loads(run("show", "-json", plan_file).stdout)
    finally:
        (stack_dir / plan_file).unlink(missing_ok=True)


def guard(stack: str, allowed: set[str], env: dict[str, str] | None = None,
          outdir: Path = ROOT / "cdktf.out", destroy: bool = False) -> list[DataLoss]:
    stack_dir = outdir / "stacks" / stack
    if not (stack_dir / "cdk.tf.json").is_file():
        raise ToolchainError(f"{stack_dir}/cdk.tf.json does not exist. Fix: synthesize first "
                             "(`bin/cdktf synth`), and check the stack name.")
    return check(stack, plan_json(stack_dir, env or project_env(), destroy), allowed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.plan_guard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", nargs="?")
    parser.add_argument("--plan-json", type=Path, help="check this `terraform show -json` file")
    parser.add_argument("--allow-data-loss", action="append", default=[], metavar="ADDRESS")
    parser.add_argument("--destroy", action="store_true", help="check a destroy plan")
    args = parser.parse_args(argv)
    if bool(args.stack) == bool(args.plan_json):
        parser.error("give either STACK or --plan-json FILE")
    allowed = set(args.allow_data_loss)
    try:
        if args.plan_json:
            losses = check(str(args.plan_json), json.loads(args.plan_json.read_text()), allowed)
        else:
            losses = guard(args.stack, allowed, destroy=args.destroy)
    except ToolchainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    name = args.stack or str(args.plan_json)
    if losses:
        print(refusal(name, losses), file=sys.stderr)
        return EXIT_REFUSED
    print(f"plan guard: {name}: no stateful resource is deleted or replaced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
