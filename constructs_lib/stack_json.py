"""Reading a synthesized stack's Terraform JSON, for the organisation policy's rules: the
resources of a type, nested blocks in either of cdktf's two forms, the companions of a bucket
(its policy, encryption, ...), the statements of a policy document; and the Violation a rule
reports. Importable without cdktf: the rules are plain functions of the JSON, tested directly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Config = dict[str, Any]

# A reference as cdktf resolves it: "${[data.]type.name.attribute}...".
REF = re.compile(r"^\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}(.*)$")


@dataclass(frozen=True)
class Violation:
    path: str  # construct path, e.g. image-service-dev/ImageBucket/Bucket
    address: str  # Terraform address, e.g. aws_s3_bucket.ImageBucket_EBEB496F
    rule: str
    problem: str
    fix: str

    def message(self) -> str:
        return f"policy {self.rule}: {self.address} {self.problem}. Fix: {self.fix}"


@dataclass(frozen=True)
class RuleContext:
    """What a rule knows of the stack besides its JSON."""

    #: Production data lives here: tables need PITR and deletion protection, and every
    #: stateful resource needs prevent_destroy (buckets also force_destroy=false).
    protect_data: bool
    #: Every role of the stack must carry this boundary. None: no such rule.
    permissions_boundary_arn: str | None = None


@dataclass(frozen=True)
class Rules:
    """A concern's organisation-policy rules: the names it may report (what a stack may
    waive) and the check that reports them."""

    names: tuple[str, ...]
    check: Callable[[Config, RuleContext], Iterator[Violation]]


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    body: dict[str, Any]

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    @property
    def path(self) -> str:
        return str(self.body.get("//", {}).get("metadata", {}).get("path", self.address))

    def violation(self, rule: str, problem: str, fix: str) -> Violation:
        return Violation(self.path, self.address, rule, problem, fix)


def resources(
    config: Config, tf_type: str | None = None, kind: str = "resource"
) -> Iterator[Resource]:
    for type_, items in config.get(kind, {}).items():
        if tf_type is None or type_ == tf_type:
            for name, body in items.items():
                yield Resource(type_, name, body)


def blocks(value: Any) -> list[dict[str, Any]]:
    """A nested block as a list, whichever of the two JSON forms cdktf wrote."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def as_list(value: Any) -> Any:
    """IAM's JSON lets a single string stand for a list of one."""
    return [value] if isinstance(value, str) else value


def strings(value: Any) -> list[str]:
    """A list of strings in IAM's JSON (a single string or a list)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def refers_to(
    value: Any, resource: Resource, attributes: tuple[str, ...] = ("id", "bucket")
) -> bool:
    match = REF.match(value) if isinstance(value, str) else None
    return bool(
        match
        and not match.group(1)
        and match.group(2) == resource.type
        and match.group(3) == resource.name
        and match.group(4) in attributes
        and not match.group(5)
    )


def companions(config: Config, tf_type: str, bucket: Resource) -> list[dict[str, Any]]:
    """The resources of `tf_type` that configure `bucket` (by reference or by its name)."""
    literal_name = bucket.body.get("bucket")
    return [
        r.body
        for r in resources(config, tf_type)
        if refers_to(r.body.get("bucket"), bucket)
        or (literal_name and r.body.get("bucket") == literal_name)
    ]


def _principals(principal: Any) -> list[dict[str, Any]]:
    """A JSON policy's Principal in aws_iam_policy_document's form."""
    if principal == "*":
        return [{"type": "*", "identifiers": ["*"]}]
    return [
        {"type": k, "identifiers": blocks(v) if not isinstance(v, str) else [v]}
        for k, v in (principal or {}).items()
    ]


def _json_statement(st: dict[str, Any]) -> dict[str, Any]:
    """One statement of a JSON policy in aws_iam_policy_document's form."""
    return {
        "sid": st.get("Sid"),
        "effect": st.get("Effect"),
        "actions": as_list(st.get("Action")),
        "resources": as_list(st.get("Resource")),
        "principals": _principals(st.get("Principal")),
        "condition": [
            {"test": test, "variable": var, "values": as_list(vals)}
            for test, cond in (st.get("Condition") or {}).items()
            for var, vals in cond.items()
        ],
    }


def policy_statements(config: Config, policy: Any) -> list[dict[str, Any]]:
    """Statements of a policy, from an aws_iam_policy_document or literal JSON, in the
    document's form."""
    match = REF.match(policy) if isinstance(policy, str) else None
    if match and match.group(1) and match.group(2) == "aws_iam_policy_document":
        doc = config.get("data", {}).get("aws_iam_policy_document", {}).get(match.group(3), {})
        return blocks(doc.get("statement"))
    try:
        parsed = json.loads(policy) if isinstance(policy, str) else policy
    except ValueError:
        return []
    return [_json_statement(st) for st in blocks((parsed or {}).get("Statement"))]
