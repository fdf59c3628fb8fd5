"""What monitoring costs a month (constructs_lib/billing.py): each alarm's metrics, the
dashboard, the topics' keys; topics (email within SNS's free notifications) and a budget that
only notifies cost nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from constructs_lib.billing import Charge, Pricer, Usage, UsageKey, blocks, fixed, free

USAGE: dict[str, UsageKey] = {}


def _alarm(body: Mapping[str, Any], _usage: Usage) -> list[Charge]:
    """A metric-math alarm is charged per metric in its expression (CloudWatch's pricing)."""
    queries = blocks(body, "metric_query")
    metrics = sum(1 for q in queries if blocks(q, "metric")) if queries else 1
    return [Charge("cloudwatch.alarm-metric", float(metrics), f"{metrics} metric(s)")]


BILLING: dict[str, Pricer] = {
    "aws_cloudwatch_metric_alarm": _alarm,
    "aws_cloudwatch_dashboard": fixed("cloudwatch.dashboard"),
    "aws_kms_key": fixed("kms.key"),
    "aws_budgets_budget": fixed("budgets.budget"),
    **free("aws_sns_topic", "aws_sns_topic_policy", "aws_sns_topic_subscription"),
}
