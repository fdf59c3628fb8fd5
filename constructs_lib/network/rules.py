"""The organisation's rule for the network: nothing in it is reached from anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from constructs_lib.stack_json import (
    Config,
    RuleContext,
    Rules,
    Violation,
    as_list,
    blocks,
    resources,
)

NO_OPEN_INGRESS = "security-group-no-open-ingress"
_EVERYWHERE = ("0.0.0.0/0", "::/0")


def _open_ingress(rule: dict[str, Any]) -> bool:
    blocks = [
        *as_list(rule.get("cidr_blocks") or []),
        *as_list(rule.get("ipv6_cidr_blocks") or []),
    ]
    return any(block in _EVERYWHERE for block in blocks)


def _check_security_groups(config: Config) -> Iterator[Violation]:
    """Nothing in the service's network is reached from anywhere: ingress only from other
    security groups (a grant names the group it opens to)."""
    found = [
        (res, rule)
        for res in resources(config, "aws_security_group")
        for rule in blocks(res.body.get("ingress"))
    ]
    found += [
        (res, res.body)
        for res in resources(config, "aws_security_group_rule")
        if res.body.get("type") == "ingress"
    ]
    found += [
        (
            res,
            {
                "cidr_blocks": [res.body.get("cidr_ipv4")],
                "ipv6_cidr_blocks": [res.body.get("cidr_ipv6")],
            },
        )
        for res in resources(config, "aws_vpc_security_group_ingress_rule")
    ]
    for res, rule in found:
        if _open_ingress(rule):
            yield Violation(
                res.path,
                res.address,
                NO_OPEN_INGRESS,
                "lets anyone on the internet connect (ingress from 0.0.0.0/0 or ::/0)",
                "open the port to the security group that needs it only, as "
                "cache.grant_connect(handler) does",
            )


def _check(config: Config, context: RuleContext) -> Iterator[Violation]:
    yield from _check_security_groups(config)


RULES = Rules((NO_OPEN_INGRESS,), _check)
