"""AWS's recommended alarms on each cache node, and its dashboard graphs (thresholds: its
props' `alarms`, CacheAlarms)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from constructs_lib.cache.construct import Cache
    from constructs_lib.monitoring.construct import Monitoring


def add_alarms(monitoring: Monitoring, cache: Cache) -> None:
    thresholds, nodes = cache.props.alarms, cache.node_ids
    for node in nodes:
        monitoring.alarm(
            f"cache-{node}-memory",
            name=f"{node}-memory",
            metric=cache.metric_memory_usage(node),
            threshold=thresholds.memory_percent,
            description=f"The cache node {node} is nearly full; at 100 % it evicts keys "
            "(more table reads). First: the keys' TTLs, then a larger node type "
            "(cache.node_type). No data: not breaching.",
        )
        monitoring.alarm(
            f"cache-{node}-engine-cpu",
            name=f"{node}-engine-cpu",
            metric=cache.metric_engine_cpu(node),
            threshold=thresholds.engine_cpu_percent,
            description=f"The cache node {node}'s engine thread is saturated: commands "
            "queue. First: expensive commands in the handlers (large values, scans), then "
            "a larger node type. No data: not breaching.",
        )
    monitoring.graph("Cache memory used (%)", [cache.metric_memory_usage(n) for n in nodes])
    monitoring.graph("Cache engine CPU (%)", [cache.metric_engine_cpu(n) for n in nodes])
    monitoring.graph("Cache connections", [cache.metric_connections(n) for n in nodes])
