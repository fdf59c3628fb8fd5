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
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from constructs_lib.concern import data_types, identity_types, outage_types
from ops.app_stacks import refuse_placeholders, table
from ops.toolchain import OUTDIR, check_toolchain, project_env, terraform
from ops.workdir import (
    LockInfo,
    StateLocked,
    ensure_initialised,
    is_emulator_stack,
    lock_holders,
    release_if_abandoned,
)
from stacks.errors import (
    EXIT_DECLINED,
    EXIT_REFUSED,
    ImageServiceError,
    ToolchainError,
    WrongAccount,
    report,
)

# What each concern says its resource types are to the guard (constructs_lib/concern.py): data
# lost on delete, an identity others hold, an outage while replaced.
STATEFUL_TYPES = data_types()
IDENTITY_TYPES = identity_types()
OUTAGE_TYPES = outage_types()


@dataclass(frozen=True)
class DataLoss:
    address: str
    kind: str
    action: str  # "delete" or "replace"
    # Terraform itself refused to plan it: the resource has lifecycle.prevent_destroy.
    prevent_destroy: bool = False
    # Replaced because it is tainted: an interrupted or failed apply left it half-created.
    tainted: bool = False
    # What is lost: "data" (STATEFUL_TYPES), "identity" (no data is lost, but everyone holding
    # its id or name breaks: IDENTITY_TYPES) or "outage" (the service stops until the new one
    # is up: OUTAGE_TYPES).
    category: str = "data"

    def summary(self, quote: str = "") -> str:
        """`replace aws_x.Y (kind) [marks]`, the address between `quote`s."""
        return (
            f"{self.action} {quote}{self.address}{quote} ({self.kind})"
            + (" [lifecycle.prevent_destroy]" if self.prevent_destroy else "")
            + (" [tainted]" if self.tainted else "")
        )


class Declined(ImageServiceError):
    """The user did not approve the checked plan; nothing was applied."""

    exit_code = EXIT_DECLINED


class PlanRefused(ImageServiceError):
    """The plan guard refused a plan: it would lose data or break clients (the `losses` not
    allowed by name), or Terraform refused it for prevent_destroy. Nothing was applied. The one
    way a refusal travels, to the one report() of whichever command ran the guard (exit 3)."""

    exit_code = EXIT_REFUSED

    def __init__(self, stack: str, losses: list[DataLoss]):
        super().__init__(refusal(stack, losses))
        self.stack, self.losses = stack, losses


# Terraform: "Resource aws_s3_bucket.X has lifecycle.prevent_destroy set, but the plan calls for
# this resource to be destroyed." (wrapped over lines; newer versions add the construct path).
_PREVENT_DESTROY = re.compile(
    r"Resource ([\w.-]+)(?: \([^)]*\))? has lifecycle\.prevent_destroy set"
)


# The AWS provider's refusal when the credentials' account is not in allowed_account_ids.
_ACCOUNT_NOT_ALLOWED = re.compile(r"AWS account ID not allowed: (\d+)")


def pinned_accounts(stack_dir: Path) -> list[str]:
    """The accounts the stack's providers allow (stacks/providers.py: allowed_account_ids)."""
    try:
        config = json.loads((stack_dir / "cdk.tf.json").read_text())
    except (OSError, ValueError):
        return []
    providers = config.get("provider", {}).get("aws", [])
    return sorted({a for p in providers for a in p.get("allowed_account_ids", [])})


def prevent_destroy_losses(terraform_output: str) -> list[DataLoss]:
    text = " ".join(terraform_output.split())
    return [
        DataLoss(
            address,
            STATEFUL_TYPES.get(address.split(".")[0], "resource"),
            "delete",
            prevent_destroy=True,
        )
        for address in dict.fromkeys(_PREVENT_DESTROY.findall(text))
    ]


def find_data_loss(plan: dict[str, Any]) -> list[DataLoss]:
    """What the plan would lose: stateful resources deleted or replaced (their data), and
    identity-bearing resources replaced (everyone who holds their id or name)."""
    losses = []
    for change in plan.get("resource_changes", []):
        tf_type = change.get("type", "")
        actions = change.get("change", {}).get("actions", [])
        if change.get("mode") == "data" or "delete" not in actions:
            continue
        action = "replace" if "create" in actions else "delete"
        tainted = change.get("action_reason") == "replace_because_tainted"
        if tf_type in STATEFUL_TYPES:
            losses.append(
                DataLoss(change["address"], STATEFUL_TYPES[tf_type], action, tainted=tainted)
            )
            continue
        for category, kinds in (("identity", IDENTITY_TYPES), ("outage", OUTAGE_TYPES)):
            if tf_type in kinds and action == "replace":
                losses.append(
                    DataLoss(
                        change["address"],
                        kinds[tf_type],
                        action,
                        tainted=tainted,
                        category=category,
                    )
                )
    return losses


# What to do about each kind of loss in a refusal, and when it applies.
_TAINTED_ADVICE = (
    "Resources marked [tainted] were left half-created by an interrupted or "
    "failed apply, so Terraform replaces them. Check that they hold no data "
    "(or `terraform untaint ADDRESS` in the stack directory if they are "
    "complete), then re-run with --allow-data-loss ADDRESS."
)
_PREVENT_DESTROY_ADVICE = (
    "Resources marked [lifecycle.prevent_destroy] hold production data: "
    "Terraform itself refuses to destroy them and --allow-data-loss cannot "
    "override that. Removing them takes a reviewed change to the stage settings."
)
_IDENTITY_ADVICE = (
    "A replaced app client, distribution or API loses no data but gets a new id or "
    "domain name: tokens already issued, and every app configured with the old one, "
    "stop working. Change the configuration so it is updated in place, or, if the "
    "switch is planned (clients updated first), re-run with --allow-data-loss ADDRESS."
)
_OUTAGE_ADVICE = (
    "A replaced cache or network loses no data of record, but the service's handlers lose "
    "the cache until the new one is up, and it starts empty. Change the configuration so it "
    "is updated in place, or, if the outage is planned (in a quiet hour), re-run with "
    "--allow-data-loss ADDRESS."
)
_DATA_ADVICE = (
    "If this is really intended (e.g. a dev table you will re-create), re-run "
    "with --allow-data-loss ADDRESS for each resource above; otherwise change "
    "the configuration so these resources are updated in place (a changed "
    "table key schema or bucket name always forces replacement)."
)


def _advice(losses: list[DataLoss]) -> list[str]:
    data = [loss for loss in losses if loss.category == "data"]
    return [
        text
        for applies, text in (
            (any(loss.tainted for loss in losses), _TAINTED_ADVICE),
            (any(loss.prevent_destroy for loss in losses), _PREVENT_DESTROY_ADVICE),
            (any(loss.category == "identity" for loss in losses), _IDENTITY_ADVICE),
            (any(loss.category == "outage" for loss in losses), _OUTAGE_ADVICE),
            (bool(data) and not all(loss.prevent_destroy for loss in data), _DATA_ADVICE),
        )
        if applies
    ]


# How a refusal's first line says what each category of loss would do.
_WHAT = {
    "data": "lose data in {n} stateful resource(s)",
    "identity": "break the clients of {n} resource(s) by replacing them",
    "outage": "take the service's cache or network down by replacing {n} resource(s)",
}


def refusal(stack: str, losses: list[DataLoss]) -> str:
    what = [
        text.format(n=n)
        for category, text in _WHAT.items()
        if (n := sum(loss.category == category for loss in losses))
    ]
    lines = [f"plan guard: refusing the plan for {stack}: it would {' and '.join(what)}:"]
    lines += [f"  - {loss.summary()}" for loss in losses]
    lines.append("Nothing was applied.")
    return "\n".join(lines + _advice(losses))


def check(plan: dict[str, Any], allowed: set[str]) -> list[DataLoss]:
    """The losses not explicitly allowed."""
    return [loss for loss in find_data_loss(plan) if loss.address not in allowed]


PLAN_FILE = "plan-guard.tfplan"
# Terraform's machine-readable UI (`plan -json`): each planned_change's action, as the
# `actions` list of `terraform show -json`.
_UI_ACTIONS = {
    "noop": ["no-op"],
    "create": ["create"],
    "read": ["read"],
    "update": ["update"],
    "replace": ["delete", "create"],
    "delete": ["delete"],
}


@dataclass(frozen=True)
class Plan:
    """A saved plan: its resource changes in `terraform show -json` form, and whether it
    changes anything at all (`-detailed-exitcode`)."""

    resource_changes: list[dict[str, Any]]
    has_changes: bool

    def as_json(self) -> dict[str, Any]:
        return {"resource_changes": self.resource_changes}


def parse_ui_stream(stdout: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(resource changes, error diagnostics) from the JSON lines of `terraform plan -json`."""
    changes, errors = [], []
    for line in stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("type") == "planned_change":
            change = message["change"]
            resource = change["resource"]
            address = resource["addr"]
            entry = {
                "address": address,
                "type": resource["resource_type"],
                "mode": "data" if address.startswith("data.") or ".data." in address else "managed",
                "change": {"actions": _UI_ACTIONS.get(change["action"], [change["action"]])},
            }
            if change.get("reason") == "tainted":
                entry["action_reason"] = "replace_because_tainted"
            changes.append(entry)
        elif message.get("type") == "diagnostic" and message.get("@level") == "error":
            errors.append(message.get("diagnostic", {}))
    return changes, errors


def _diagnostics_text(errors: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"Error: {d.get('summary', '')}\n{d.get('detail', '')}".strip() for d in errors
    )


def plan(
    stack_dir: Path,
    env: dict[str, str],
    destroy: bool = False,
    keep_plan: bool = False,
    refresh_only: bool = False,
    take_lock: bool = True,
) -> Plan:
    """Plan the stack once (saved as PLAN_FILE when keep_plan) and read the planned changes from
    Terraform's JSON UI stream: no second `terraform show -json` run, which would load the
    provider's schema again (~1.5 s). take_lock=False plans without taking the state lock (the
    review's read-only plans: REVIEW_LOCKING in ops/review.py)."""
    check_toolchain()
    ensure_initialised(stack_dir, env)
    for attempt in (1, 2):
        # A held lock is reported at once, not after a minute of silence (see StateLocked).
        proc = terraform(
            stack_dir,
            "plan",
            "-json",
            "-input=false",
            "-lock-timeout=0s" if take_lock else "-lock=false",
            "-detailed-exitcode",
            f"-out={PLAN_FILE}",
            *(["-destroy"] if destroy else []),
            *(["-refresh-only"] if refresh_only else []),
            env=env,
            check=False,
        )
        try:
            changes, errors = parse_ui_stream(proc.stdout)
            if proc.returncode in (0, 2):
                return Plan(changes, has_changes=proc.returncode == 2)
            text = _diagnostics_text(errors) or proc.stderr.strip() or proc.stdout.strip()[-3000:]
            lock = LockInfo.parse(text)
            if lock:
                if attempt == 1 and release_if_abandoned(stack_dir, lock, env, "plan guard"):
                    continue
                raise StateLocked(stack_dir, lock, lock_holders(stack_dir))
            blocked = prevent_destroy_losses(text)
            if blocked:
                raise PlanRefused(stack_dir.name, blocked)
            wrong = _ACCOUNT_NOT_ALLOWED.search(text)
            if wrong:
                raise WrongAccount(stack_dir.name, pinned_accounts(stack_dir), wrong.group(1))
            raise ToolchainError(f"terraform plan failed in {stack_dir}:\n{text}")
        finally:
            if not keep_plan or proc.returncode not in (0, 2):
                (stack_dir / PLAN_FILE).unlink(missing_ok=True)
    raise AssertionError("unreachable")


def plan_json(stack_dir: Path, env: dict[str, str], destroy: bool = False) -> dict[str, Any]:
    """The stack's planned resource changes, in `terraform show -json` form."""
    return plan(stack_dir, env, destroy).as_json()


def guarded_apply(
    stack_dir: Path,
    allowed: set[str],
    env: dict[str, str],
    recreate_tainted: bool = False,
    destroy: bool = False,
    approve: Callable[[Path], bool] | None = None,
    disposable: bool = False,
) -> None:
    """Plan to a file, check that file, and apply exactly it (nothing when the plan is empty):
    what changed between the check and the apply (another deploy, a drift, an edited
    configuration) is not applied, as Terraform applies a saved plan as saved or refuses it as
    stale. A loss not `allowed` by address raises PlanRefused. `approve(plan_file)` is asked
    after the check, before the apply (bin/cdktf shows the plan and asks); False raises
    Declined. recreate_tainted (the emulator's local loop only): a stateful resource left
    tainted by an interrupted apply is replaced without being named. disposable (a derived
    stage's: stacks/settings/derived.py): every loss is accepted, each one named."""
    try:
        planned = plan(stack_dir, env, destroy=destroy, keep_plan=True)
        losses = _accepted(
            stack_dir.name, check(planned.as_json(), allowed), recreate_tainted, disposable
        )
        if losses:
            raise PlanRefused(stack_dir.name, losses)
        if not planned.has_changes:
            print("No changes: the deployment already matches the configuration.", flush=True)
            return
        if approve is not None and not approve(stack_dir / PLAN_FILE):
            raise Declined(f"the plan for {stack_dir.name} was not approved; nothing was applied")
        # Warnings in one line each: on the fast emulator stage Terraform warns that the
        # inline lifecycle rules are deprecated, on purpose (stacks/settings/emulator.py).
        # On the emulator an interrupt lets the apply finish (seconds): Terraform
        # interrupted mid-create loses track of what it was creating.
        terraform(
            stack_dir,
            "apply",
            "-input=false",
            "-no-color",
            "-compact-warnings",
            PLAN_FILE,
            env=env,
            capture="tee",
            finish_on_interrupt=is_emulator_stack(stack_dir),
        )
    finally:
        (stack_dir / PLAN_FILE).unlink(missing_ok=True)


def _accepted(
    stack: str, losses: list[DataLoss], recreate_tainted: bool, disposable: bool
) -> list[DataLoss]:
    """The losses left to refuse: none of a disposable stage's, and (recreate_tainted) none
    that an interrupted apply left tainted; each accepted one said."""
    kept = []
    for loss in losses:
        if disposable:
            print(
                f"plan guard: {loss.summary()} accepted: {stack} is a disposable stage (a pull "
                "request's or a developer's), nothing in it is kept",
                flush=True,
            )
        elif recreate_tainted and loss.tainted:
            print(
                f"plan guard: recreating {loss.address} ({loss.kind}): an interrupted apply "
                "left it tainted (half-created)",
                flush=True,
            )
        else:
            kept.append(loss)
    return kept


def guard(
    stack: str,
    allowed: set[str],
    env: dict[str, str] | None = None,
    outdir: Path = OUTDIR,
    destroy: bool = False,
) -> None:
    """Plan the synthesized stack and raise PlanRefused for a loss not `allowed`."""
    stack_dir = outdir / "stacks" / stack
    if not (stack_dir / "cdk.tf.json").is_file():
        raise ToolchainError(
            f"{stack_dir}/cdk.tf.json does not exist. Fix: synthesize first "
            "(`bin/cdktf synth`), and check the stack name."
        )
    losses = check(plan_json(stack_dir, env or project_env(), destroy), allowed)
    if losses:
        raise PlanRefused(stack, losses)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.plan_guard",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
            try:
                plan_doc = json.loads(args.plan_json.read_text())
            except (OSError, ValueError) as exc:
                raise ToolchainError(
                    f"--plan-json {args.plan_json}: cannot read a JSON plan "
                    f"({exc}). Fix: write one with `terraform show -json "
                    "PLANFILE > plan.json` and pass its path."
                ) from None
            losses = check(plan_doc, allowed)
            if losses:
                raise PlanRefused(str(args.plan_json), losses)
        else:
            known = table().get(args.stack)
            if known is not None:
                refuse_placeholders("ops.plan_guard", [known])
            guard(args.stack, allowed, destroy=args.destroy)
    except ImageServiceError as exc:
        return report(exc)
    print(
        f"plan guard: {args.stack or args.plan_json}: no stateful resource is deleted or replaced"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
