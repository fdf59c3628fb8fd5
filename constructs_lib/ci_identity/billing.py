"""What the stage's log groups cost a month (constructs_lib/billing.py: the API's access logs,
the CDN's, the web ACL's, flow logs): ingestion, and storage for as long as each keeps its
events. Roles and their policies are free."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from constructs_lib.billing import Charge, Pricer, Usage, UsageKey, free

USAGE = {"logs.ingested_gb": UsageKey(2.0, "GB written to each log group a month")}


def _group(body: Mapping[str, Any], usage: Usage) -> list[Charge]:
    ingested = usage("logs.ingested_gb")
    # Kept `retention_in_days` (never: a year is counted), so about that many days' worth of
    # events is stored at any time.
    months = min(int(body.get("retention_in_days") or 365), 365) / 30
    return [
        Charge("logs.ingested-gb", ingested, "usage logs.ingested_gb"),
        Charge("logs.stored-gb", round(ingested * months, 3), f"kept {months:.1f} months"),
    ]


BILLING: dict[str, Pricer] = {
    "aws_cloudwatch_log_group": _group,
    **free("aws_iam_role", "aws_iam_role_policy"),
}
