"""What the user pool costs a month (constructs_lib/billing.py): its monthly active users at its
feature plan's rate (Essentials unless the pool says otherwise: the provider's and AWS's
default for new pools)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from constructs_lib.billing import Charge, Pricer, Usage, UsageKey, free

USAGE = {"auth.monthly_active_users": UsageKey(2000.0, "users who sign in in a month")}


def _pool(body: Mapping[str, Any], usage: Usage) -> list[Charge]:
    tier = str(body.get("user_pool_tier") or "ESSENTIALS").lower()
    users = usage("auth.monthly_active_users")
    return [Charge(f"cognito.{tier}-mau", users, f"{tier} plan")]


BILLING: dict[str, Pricer] = {
    "aws_cognito_user_pool": _pool,
    **free("aws_cognito_user_pool_client"),
}
