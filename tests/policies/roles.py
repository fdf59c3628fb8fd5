"""The IAM roles of a synthesized stack as IAM would hold them: each role's trust policy and every
statement it gets (its inline policies and the managed policies attached to it), for the
evaluation in tests/policies/iam.py."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from tests.policies.iam import Principal

# Terraform references inside a synthesized policy, e.g. ${data.aws_route53_zone.X.arn}.
_REFERENCE = re.compile(r"\$\{([a-z0-9_.]+)\}", re.IGNORECASE)


def _resolved(text: str, values: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        reference = match.group(1)
        for prefix, found in values.items():
            if reference.startswith(prefix):
                return found
        raise KeyError(f"no value given for the reference {reference} (values: {sorted(values)})")

    return _REFERENCE.sub(value, text)


def role_names(config: Mapping[str, Any]) -> list[str]:
    return sorted(r["name"] for r in config["resource"].get("aws_iam_role", {}).values())


def role(
    config: Mapping[str, Any], name: str, account: str, values: Mapping[str, str] | None = None
) -> Principal:
    """The role `name` of the stack, in `account`, with every statement it gets; references to
    other resources in its policies replaced by `values` (a reference prefix -> its value)."""
    values = values or {}
    resources = config["resource"]
    [(key, _)] = [(k, r) for k, r in resources["aws_iam_role"].items() if r["name"] == name]
    reference = f"${{aws_iam_role.{key}."
    documents = [
        json.loads(_resolved(p["policy"], values))
        for p in resources.get("aws_iam_role_policy", {}).values()
        if p["role"].startswith(reference)
    ]
    attached = {
        a["policy_arn"].split(".")[1]
        for a in resources.get("aws_iam_role_policy_attachment", {}).values()
        if a["role"].startswith(reference)
    }
    documents += [
        json.loads(_resolved(resources["aws_iam_policy"][policy]["policy"], values))
        for policy in attached
    ]
    return Principal(f"arn:aws:iam::{account}:role/{name}", tuple(documents))


def trust(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The role's trust policy, where it is a JSON document (not a data source's reference)."""
    [found] = [r for r in config["resource"]["aws_iam_role"].values() if r["name"] == name]
    return dict(json.loads(found["assume_role_policy"]))
