"""What the metadata table costs a month (constructs_lib/billing.py): on-demand requests, storage
and, where point-in-time recovery is on, its backup storage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from constructs_lib.billing import Charge, Pricer, Usage, UsageKey, blocks, truthy

USAGE = {
    "table.writes_millions": UsageKey(1.0, "million write request units a month"),
    "table.reads_millions": UsageKey(5.0, "million read request units a month"),
    "table.stored_gb": UsageKey(1.0, "GB stored, indexes included"),
}


def _table(body: Mapping[str, Any], usage: Usage) -> list[Charge]:
    charges = [
        Charge(
            "dynamodb.write-request-million",
            usage("table.writes_millions"),
            "usage table.writes_millions",
        ),
        Charge(
            "dynamodb.read-request-million",
            usage("table.reads_millions"),
            "usage table.reads_millions",
        ),
        Charge("dynamodb.stored-gb", usage("table.stored_gb"), "usage table.stored_gb"),
    ]
    if any(truthy(b.get("enabled")) for b in blocks(body, "point_in_time_recovery")):
        charges.append(
            Charge("dynamodb.pitr-gb", usage("table.stored_gb"), "point-in-time recovery on")
        )
    return charges


BILLING: dict[str, Pricer] = {"aws_dynamodb_table": _table}
