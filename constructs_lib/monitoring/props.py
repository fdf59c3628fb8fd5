"""MonitoringProps and WebAclProps: a stage's alarms, dashboard, notifications and budget
(constructs_lib/monitoring/), and the WAF web ACL in front of its CDN (constructs_lib/waf/).

The alarms' defaults are AWS's "Best practice recommended alarms" (CloudWatch User Guide) where
AWS gives them: API 5xx over 3 of 3 one-minute periods, 4xx for 5 of 5, latency for 5 of 5;
DynamoDB throttles 5 of 5, system errors 15 of 15; CloudFront's 5xx error rate 5 of 5; Lambda
errors 3 of 3, throttles 5 of 5, duration p90 15 of 15; ElastiCache's memory usage and engine
CPU per node, 5 of 5.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from constructs_lib.errors import Problem
from constructs_lib.metrics import statistic_problem
from constructs_lib.validation import EMAIL

if TYPE_CHECKING:
    pass

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
class Threshold:
    """An alarm's threshold, and how many consecutive periods must breach it (N of N)."""

    value: float
    periods: int

    def problems(self) -> list[Problem]:
        found = []
        if self.value < 0:
            found.append(
                Problem("value", f"{self.value} is negative", "use a threshold of 0 or more")
            )
        if not 1 <= self.periods <= 1440:
            found.append(
                Problem(
                    "periods",
                    f"{self.periods} is not a number of evaluation periods CloudWatch takes",
                    "use 1-1440 periods",
                )
            )
        return found


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
    certificate's alarms), subscriptions, AWS's recommended alarms on the API, the table, the
    CDN, each certificate and each handler, a dashboard, and a budget."""

    #: Names the topics, alarms, dashboard and budget (e.g. image-service-dev).
    name: str
    #: The stack's region: the dashboard's and the regional topic's (the stack gives it).
    region: str = "us-east-1"
    #: Who the alarms and the budget notify. Default: nobody (fine for a test stage; a stage
    #: with protected data must have someone).
    subscriptions: tuple[Subscription, ...] = ()
    #: API: 5xx responses / requests (metric math), 3 of 3 minutes. Default: above 5 %.
    api_5xx_rate: Threshold = Threshold(0.05, 3)
    #: API: 4xx responses / requests, 5 of 5 minutes. Default: above 5 %.
    api_4xx_rate: Threshold = Threshold(0.05, 5)
    #: API: latency (ms) at `api_latency_statistic`, 5 of 5 minutes. Default: p99 above 2 s.
    api_latency_ms: Threshold = Threshold(2000, 5)
    api_latency_statistic: str = "p99"
    #: Table and each index: read or write throttles per minute, 5 of 5. Default: any.
    table_throttles: Threshold = Threshold(0, 5)
    #: Table: system errors per minute, 15 of 15. Default: any.
    table_system_errors: Threshold = Threshold(0, 15)
    #: CDN: 5xx error rate (percent), 5 of 5 minutes. Default: above 5 %.
    cdn_5xx_error_rate: Threshold = Threshold(5, 5)
    #: Each certificate: days to expiry below this, one daily period. Default: 45 (ACM renews
    #: 60 days ahead, so fewer means its renewal is stuck).
    certificate_days_to_expiry: Threshold = Threshold(45, 1)
    #: Each handler: errors per minute, 3 of 3. Default: any.
    handler_errors: Threshold = Threshold(0, 3)
    #: Each handler: throttles per minute, 5 of 5. Default: any.
    handler_throttles: Threshold = Threshold(0, 5)
    #: Each handler: p90 duration above this fraction of its timeout, 15 of 15. Default: 0.8.
    handler_duration_of_timeout: float = 0.8
    #: Each cache node: percent of its memory in use, 5 of 5 minutes (at 100 it evicts keys).
    #: Default: above 80.
    cache_memory_percent: Threshold = Threshold(80, 5)
    #: Each cache node: percent of the engine thread's CPU, 5 of 5 minutes. Default: above 90.
    cache_engine_cpu_percent: Threshold = Threshold(90, 5)
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
        for name in (
            "api_5xx_rate",
            "api_4xx_rate",
            "api_latency_ms",
            "table_throttles",
            "table_system_errors",
            "cdn_5xx_error_rate",
            "certificate_days_to_expiry",
            "handler_errors",
            "handler_throttles",
            "cache_memory_percent",
            "cache_engine_cpu_percent",
        ):
            found += [p.within(name) for p in getattr(self, name).problems()]
        problem = statistic_problem(self.api_latency_statistic)
        if problem:
            found.append(
                Problem("api_latency_statistic", problem, "use e.g. 'p99', 'p90' or 'Average'")
            )
        if not 0 < self.handler_duration_of_timeout <= 1:
            found.append(
                Problem(
                    "handler_duration_of_timeout",
                    f"{self.handler_duration_of_timeout} is not a fraction of the timeout",
                    "use a fraction in (0, 1], e.g. 0.8",
                )
            )
        if self.budget is not None:
            found += [p.within("budget") for p in self.budget.problems()]
        return found
