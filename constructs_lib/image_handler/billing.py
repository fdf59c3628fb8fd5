"""What a handler costs a month (constructs_lib/billing.py): its invocations and compute
(memory × duration, at the x86 rate; arm64's is lower)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from constructs_lib.billing import Charge, Pricer, Usage, UsageKey, free

USAGE = {
    "handler.invocations_millions": UsageKey(1.0, "million invocations of each handler a month"),
    "handler.average_ms": UsageKey(100.0, "milliseconds an invocation takes on average"),
}


def _function(body: Mapping[str, Any], usage: Usage) -> list[Charge]:
    millions = usage("handler.invocations_millions")
    memory_gb = int(body.get("memory_size") or 128) / 1024
    seconds = millions * 1e6 * usage("handler.average_ms") / 1000
    return [
        Charge("lambda.request-million", millions, "usage handler.invocations_millions"),
        Charge("lambda.gb-second", round(seconds * memory_gb, 3), f"{memory_gb:g} GB × usage"),
    ]


BILLING: dict[str, Pricer] = {
    "aws_lambda_function": _function,
    **free("aws_lambda_permission"),
}
