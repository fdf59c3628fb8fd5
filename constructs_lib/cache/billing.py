"""What the cache costs a month (constructs_lib/billing.py): its nodes' hours at its engine's
rate for its node type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from constructs_lib.billing import HOURS_PER_MONTH, Charge, Pricer, Usage, UsageKey, free

USAGE: dict[str, UsageKey] = {}


def _nodes(body: Mapping[str, Any]) -> int:
    groups = int(body.get("num_node_groups") or 0)
    if groups:
        return groups * (int(body.get("replicas_per_node_group") or 0) + 1)
    return int(body.get("num_cache_clusters") or 1)


def _group(body: Mapping[str, Any], _usage: Usage) -> list[Charge]:
    nodes = _nodes(body)
    engine, node_type = body.get("engine") or "redis", body.get("node_type")
    return [
        Charge(
            f"elasticache.{engine}.{node_type}",
            nodes * HOURS_PER_MONTH,
            f"{nodes} node(s) × {HOURS_PER_MONTH} h",
        )
    ]


BILLING: dict[str, Pricer] = {
    "aws_elasticache_replication_group": _group,
    **free("aws_elasticache_subnet_group", "aws_elasticache_user", "aws_elasticache_user_group"),
}
