"""MonitoringProps: a stage's alarm topics, who they notify, its dashboard and budget
(constructs_lib/monitoring/). The alarms themselves, and their thresholds, belong to the concern
each watches (its alarms.py and its props' `alarms`), defaulting to AWS's "Best practice
recommended alarms" (CloudWatch User Guide) where AWS gives them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from constructs_lib.errors import Problem
from constructs_lib.validation import EMAIL, set_by_the_stack

_HTTPS = re.compile(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?(/\S*)?$")


@dataclass(frozen=True)
class Subscription:
    """Who an alarm or a budget notification reaches: "email" (confirmed by the recipient)
    or "https" (an incident tool's webhook)."""

    protocol: str
    endpoint: str

    def problems(self) -> list[Problem]:
        if self.protocol == "email" and EMAIL.match(self.endpoint):
            return []
        if self.protocol == "https" and _HTTPS.match(self.endpoint):
            return []
        if self.protocol not in ("email", "https"):
            return [
                Problem(
                    "protocol",
                    f"'{self.protocol}' is not a subscription protocol here",
                    "use 'email' or 'https'",
                )
            ]
        expected = "an email address" if self.protocol == "email" else "an https:// URL"
        return [
            Problem(
                "endpoint",
                f"'{self.endpoint}' is not {expected}",
                "use e.g. 'oncall@lego-moc.com' (email) or 'https://events.example.com/hook' "
                "(https)",
            )
        ]


@dataclass(frozen=True)
class Budget:
    """An AWS Budget of the stage's monthly cost, notifying the topic when the actual or the
    forecast cost passes the amount."""

    #: US dollars a month.
    monthly_usd: float
    #: Percent of the amount at which each notification fires. Default: 100.
    actual_percent: float = 100
    forecast_percent: float = 100
    #: Only the cost of resources with these tags (cost allocation tags: activate them in the
    #: Billing console once). Default: the account's whole cost.
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[Problem]:
        found = []
        if self.monthly_usd <= 0:
            found.append(
                Problem("monthly_usd", f"{self.monthly_usd} is not a budget", "use dollars > 0")
            )
        for name in ("actual_percent", "forecast_percent"):
            if getattr(self, name) <= 0:
                found.append(Problem(name, "the percentage must be > 0", "use e.g. 100"))
        return found


@dataclass(frozen=True)
class MonitoringProps:
    """Monitoring: an encrypted SNS topic (and its us-east-1 twin for CloudFront's and its
    certificate's alarms), subscriptions, the alarms each watched construct adds (its concern's
    alarms.py, with the thresholds of its props' `alarms`), a dashboard, and a budget."""

    #: Names the topics, alarms, dashboard and budget (e.g. image-service-dev).
    name: str
    #: The stack's region: the dashboard's and the regional topic's (the stack gives it).
    region: str = field(default="us-east-1", metadata=set_by_the_stack("the stage's region"))
    #: Who the alarms and the budget notify. Default: nobody (fine for a test stage; a stage
    #: with protected data must have someone).
    subscriptions: tuple[Subscription, ...] = ()
    #: Encrypt each topic with a customer managed KMS key of its own (CloudWatch cannot publish
    #: to a topic under AWS's managed aws/sns key, whose policy cannot grant it). False: AWS's
    #: managed key, only for an emulator's fast stage (the emulator table), where no alarm
    #: ever publishes. Default: on.
    customer_managed_keys: bool = True
    #: A CloudWatch dashboard of the stage. Default: on.
    dashboard: bool = True
    #: The monthly budget. Default: none.
    budget: Budget | None = None

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        if not self.name.strip():
            found.append(Problem("name", "the name is empty", "name it after the stack"))
        for index, subscription in enumerate(self.subscriptions):
            found += [p.within(f"subscriptions[{index}]") for p in subscription.problems()]
        if self.budget is not None:
            found += [p.within("budget") for p in self.budget.problems()]
        return found


class MonitoringChanges(TypedDict, total=False):
    """What a stage's row may change of MonitoringProps (stacks/settings/stages.py): every field
    but its name, which the stage gives, and what the stack sets. mypy checks the stage table
    against it."""

    subscriptions: tuple[Subscription, ...]
    customer_managed_keys: bool
    dashboard: bool
    budget: Budget | None
