"""Plan review and drift reports, as Markdown fit for a pull-request comment.

    bin/cdktf review [STACK ...] [--output FILE]   what the code would change, per stage
    bin/cdktf drift  [STACK ...] [--output FILE]   what changed outside the code, per stage

Both synthesize once (unless --skip-synth), plan each stack (all deployable stages by default)
and print the Markdown (and write it to FILE). `review` renders `terraform plan`: per stage a
verdict line, a table of the changed resources (action, address, construct path, each changed
leaf by its path, policy documents statement by statement: ops/changes.py; values Terraform
marks sensitive are never printed), the output changes, and a
warning block for every change the plan guard would refuse (data loss in a table, bucket or user
pool). `drift` renders `terraform plan -refresh-only`: the resources whose real state differs
from the last apply, and which attributes.

A real stage is planned only where AWS credentials are configured; otherwise it is reported as
"not planned: <reason>" and the other stages still are (nothing is sent to AWS without
credentials). The emulator's stacks need `make up`'s emulator.

Exit codes: 0 no changes (no drift); 2 changes (drift); 3 a change the plan guard would refuse;
1 a stage could not be planned for another reason (the report says why); 2 with an `error:`
paragraph for a bad setting or toolchain, as every command.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_lib.dns_delegation.props import DNS_ROLE_VARIABLE
from ops.app_stacks import missing_credentials
from ops.changes import AttributeChange, resource_leaf_changes
from ops.cost import CostError, Estimate, estimate, planned_values, render_change
from ops.plan_guard import PLAN_FILE, DataLoss, PlanRefused, find_data_loss, plan
from ops.toolchain import terraform
from stacks.errors import ImageServiceError, Interrupted
from stacks.settings import DEPLOYED_STAGES, AppStack, stack_name

EXIT_CLEAN = 0
EXIT_CHANGES = 2
EXIT_REFUSED = 3
EXIT_FAILED = 1
DEFAULT_STACKS = tuple(stack_name(stage) for stage in DEPLOYED_STAGES)
# Longer cells are folded into a <details> block.
FOLD_AT = 240
_ACTIONS = {
    ("create",): "create",
    ("update",): "update",
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
    ("delete",): "destroy",
}


@dataclass(frozen=True)
class ResourceChange:
    action: str  # create, update, replace, destroy (review); drift (drift)
    address: str
    path: str  # the construct path from the stack's metadata
    attributes: tuple[AttributeChange, ...]


@dataclass
class StackReport:
    stack: str
    planned: bool = True
    reason: str = ""  # why it was not planned
    failed: bool = False  # planning was attempted and failed
    changes: list[ResourceChange] = field(default_factory=list)
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (name, action)
    losses: list[DataLoss] = field(default_factory=list)
    #: The stage's monthly cost (before, after) the change, where it changes anything.
    cost: tuple[Estimate, Estimate] | None = None
    #: Why the cost could not be estimated (a price the table lacks, a bad usage file).
    cost_problem: str = ""

    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "replace": 0, "destroy": 0}
        for change in self.changes:
            if change.action in counts:
                counts[change.action] += 1
        return counts


# ------------------------------------------------------------------------------------------
# From Terraform's JSON plan to the report
# ------------------------------------------------------------------------------------------
def canonical(value: Any) -> Any:
    """A value with what a refresh reports differently without anything having changed made
    equal: empty values (null, "", false, [], {}) dropped, and list order ignored (Terraform
    gives sets as lists, in whatever order the API returns them)."""
    if isinstance(value, dict):
        kept = {k: canonical(v) for k, v in value.items()}
        kept = {k: v for k, v in kept.items() if v is not None}
        return kept or None
    if isinstance(value, list):
        items = [canonical(v) for v in value]
        items = [v for v in items if v is not None]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True)) or None
    if value in ("", False):
        return None
    return value


def construct_paths(config: dict[str, Any]) -> dict[str, str]:
    """Terraform address -> construct path, from the synthesized stack's metadata."""
    paths = {}
    for tf_type, resources in config.get("resource", {}).items():
        for name, body in resources.items():
            path = body.get("//", {}).get("metadata", {}).get("path", "")
            paths[f"{tf_type}.{name}"] = path
    return paths


def resource_changes(plan_doc: dict[str, Any], paths: dict[str, str]) -> list[ResourceChange]:
    found = []
    for change in plan_doc.get("resource_changes", []):
        if change.get("mode") == "data":
            continue
        action = _ACTIONS.get(tuple(change.get("change", {}).get("actions", [])))
        if action is None:
            continue
        # A created or destroyed resource is listed without its attributes.
        attributes = (
            resource_leaf_changes(change["change"]) if action in ("update", "replace") else ()
        )
        found.append(
            ResourceChange(action, change["address"], paths.get(change["address"], ""), attributes)
        )
    return found


def drifted_resources(plan_doc: dict[str, Any], config: dict[str, Any]) -> list[ResourceChange]:
    """The resources whose refreshed state differs from the last apply, and in which of the
    attributes the configuration sets (or their tags): computed attributes, emptiness and set
    order that an API reports differently, and what the configuration tells Terraform to ignore
    (lifecycle.ignore_changes), are not drift."""
    paths = construct_paths(config)
    found = []
    for drift in plan_doc.get("resource_drift", []):
        if drift.get("mode") == "data":
            continue
        tf_type, name = drift["address"].split(".", 1)
        body = config.get("resource", {}).get(tf_type, {}).get(name, {})
        ignored = set(body.get("lifecycle", {}).get("ignore_changes", []))
        considered = {k for k in body if k not in ("//", "lifecycle", "depends_on")}
        considered = (considered | {"tags", "tags_all"}) - ignored
        actions = drift.get("change", {}).get("actions", [])
        attributes: tuple[AttributeChange, ...] = ()
        if actions == ["delete"]:
            action = "deleted outside Terraform"
        else:
            attributes = resource_leaf_changes(
                drift["change"],
                equal=lambda a, b: canonical(a) == canonical(b),
                considered=considered,
            )
            if not attributes:
                continue
            action = "changed outside Terraform"
        address = drift["address"]
        found.append(ResourceChange(action, address, paths.get(address, ""), attributes))
    return found


def output_changes(plan_doc: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for name, change in sorted(plan_doc.get("output_changes", {}).items()):
        action = _ACTIONS.get(tuple(change.get("actions", [])))
        if action:
            found.append((name, action))
    return found


# ------------------------------------------------------------------------------------------
# Markdown
# ------------------------------------------------------------------------------------------
def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _attributes_cell(attributes: Iterable[AttributeChange]) -> str:
    items = [a.text() for a in attributes]
    if not items:
        return ""
    text = "<br>".join(_cell(i) for i in items)
    if len(text) > FOLD_AT:
        return f"<details><summary>{len(items)} attribute(s)</summary>{text}</details>"
    return text


def _verdict(report: StackReport, drift: bool) -> str:
    if not report.planned:
        return f"not planned: {report.reason}"
    if report.failed:
        return f"plan failed: {report.reason}"
    if drift:
        n = len(report.changes)
        return "no drift" if n == 0 else f"{n} resource(s) differ from the last apply"
    if not report.changes and not report.outputs:
        return "no changes"
    c = report.counts()
    return (
        f"{c['create']} to add, {c['update']} to change, {c['replace']} to replace, "
        f"{c['destroy']} to destroy"
    )


# Review and drift plans run with the account's read-only review role, which cannot write the
# state's lock object (S3-native locking writes and deletes `<key>.tflock`: Terraform's S3
# backend docs), so they take no lock: a plan that is never applied needs none. Said in every
# report, as a deploy running at the same time can make it stale.
REVIEW_LOCKING = (
    "_Planned read-only, without the state lock (`-lock=false`): a deploy running at the same "
    "time may make this report stale._"
)


def render(reports: list[StackReport], drift: bool = False) -> str:
    title = "Drift report" if drift else "Plan review"
    lines = [f"## {title}", "", REVIEW_LOCKING, ""]
    for report in reports:
        lines.append(f"- **{report.stack}**: {_verdict(report, drift)}")
    for report in reports:
        if report.losses:
            lines += [
                "",
                f"> [!CAUTION]\n> **{report.stack}: the plan guard would refuse this plan** — "
                "it loses data or breaks clients:",
            ]
            lines += [f"> - {loss.summary(quote='`')}" for loss in report.losses]
            lines.append(
                "> Deploying it needs `--allow-data-loss ADDRESS` for each, or a change that "
                "updates these resources in place."
            )
    for report in reports:
        if not report.changes and not report.outputs:
            continue
        lines += ["", f"### {report.stack}", ""]
        if report.changes:
            lines += ["| action | resource | construct | attributes |", "|---|---|---|---|"]
            for change in report.changes:
                lines.append(
                    f"| {change.action} | `{change.address}` | {_cell(change.path)} | "
                    f"{_attributes_cell(change.attributes)} |"
                )
        if report.outputs:
            lines += ["", "Outputs: " + ", ".join(f"`{n}` ({a})" for n, a in report.outputs)]
        if report.cost:
            lines += ["", *render_change(*report.cost)]
        elif report.cost_problem:
            lines += ["", f"**Cost of {report.stack}**: not estimated: {report.cost_problem}"]
    return "\n".join(lines) + "\n"


def exit_code(reports: list[StackReport], drift: bool = False) -> int:
    if any(r.losses for r in reports):
        return EXIT_REFUSED
    if any(r.changes or (r.outputs and not drift) for r in reports):
        return EXIT_CHANGES
    if any(r.failed for r in reports):
        return EXIT_FAILED
    return EXIT_CLEAN


# ------------------------------------------------------------------------------------------
# Planning
# ------------------------------------------------------------------------------------------
def report_for(stack: AppStack, stack_dir: Path, env: dict[str, str], drift: bool) -> StackReport:
    report = StackReport(stack.name)
    reason = missing_credentials(stack, env)
    if reason:
        report.planned, report.reason = False, reason
        return report
    config = json.loads((stack_dir / "cdk.tf.json").read_text())
    try:
        plan_doc = plan_document(stack_dir, {**env, **read_only_env(stack)}, refresh_only=drift)
    except PlanRefused as refused:
        report.losses = refused.losses
        return report
    except Interrupted:
        raise  # Ctrl-C stops the whole report (exit 130), it is not this stage's failure
    except ImageServiceError as exc:
        report.failed, report.reason = True, " ".join(str(exc).split())[:500]
        return report
    if drift:
        report.changes = drifted_resources(plan_doc, config)
    else:
        report.changes = resource_changes(plan_doc, construct_paths(config))
        report.outputs = output_changes(plan_doc)
        report.losses = find_data_loss(plan_doc)
        if plan_doc:
            try:
                report.cost = cost_change(stack.name, stack.settings.stage, config, plan_doc)
            except CostError as exc:  # the plan is still worth reviewing
                report.cost_problem = " ".join(str(exc).split())
    return report


def cost_change(
    stack: str, stage: str, config: dict[str, Any], plan_doc: dict[str, Any]
) -> tuple[Estimate, Estimate]:
    """The stage's monthly cost before and after the planned change (ops/cost)."""
    return (
        estimate(stack, config, stage, planned_values(plan_doc, "before")),
        estimate(stack, config, stage, planned_values(plan_doc, "after")),
    )


def read_only_env(stack: AppStack) -> dict[str, str]:
    """What a review or drift plan of `stack` sets besides: the DNS account's reader in place of
    the stage's writer (the review role may assume only the reader)."""
    domains = stack.settings.domains if stack.kind == "stage" else None
    delegation = domains.delegation if domains else None
    if delegation is None or delegation.read_role_arn is None:
        return {}
    return {f"TF_VAR_{DNS_ROLE_VARIABLE}": delegation.read_role_arn}


def plan_document(stack_dir: Path, env: dict[str, str], refresh_only: bool) -> dict[str, Any]:
    """The stack's plan as `terraform show -json` renders it (with before/after values and
    their sensitivity), planned once to a file; nothing to render (and no `terraform show`)
    when the plan changes nothing, refresh-only plans included."""
    planned = plan(stack_dir, env, keep_plan=True, refresh_only=refresh_only, take_lock=False)
    try:
        if not planned.has_changes:
            return {}
        shown = terraform(stack_dir, "show", "-json", "-no-color", PLAN_FILE, env=env)
        return dict(json.loads(shown.stdout))
    finally:
        (stack_dir / PLAN_FILE).unlink(missing_ok=True)
