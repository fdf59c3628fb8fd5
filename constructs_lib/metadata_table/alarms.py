"""AWS's recommended alarms on the metadata table and each index, and its dashboard graphs
(thresholds: its props' `alarms`, TableAlarms)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from constructs_lib.metadata_table.construct import MetadataTable
    from constructs_lib.monitoring.construct import Monitoring


def add_alarms(monitoring: Monitoring, table: MetadataTable) -> None:
    thresholds = table.props.alarms
    for index in (None, *table.index_names):
        suffix = f"-{index}" if index else ""
        where = f"the index {index}" if index else "the table"
        for kind, metric in (
            ("read", table.metric_read_throttles(index)),
            ("write", table.metric_write_throttles(index)),
        ):
            monitoring.alarm(
                f"table{suffix}-{kind}-throttles",
                metric=metric,
                threshold=thresholds.throttles,
                description=f"DynamoDB throttles {kind}s of {where} (on demand: a hot "
                "partition key, or more than double the previous peak). First: the key "
                "the handlers write or query most. No requests: not breaching.",
            )
    monitoring.alarm(
        "table-system-errors",
        metric=table.metric_system_errors(),
        threshold=thresholds.system_errors,
        description="DynamoDB fails requests on its side (500s). First: the AWS Health "
        "Dashboard for DynamoDB in the region; the handlers retry. None: not breaching.",
    )
    monitoring.graph(
        "Table consumed capacity",
        [table.metric_consumed_read_capacity(), table.metric_consumed_write_capacity()],
    )
    monitoring.graph(
        "Table throttles", [table.metric_read_throttles(), table.metric_write_throttles()]
    )
    monitoring.graph("Table latency (ms)", [table.metric_latency()])
