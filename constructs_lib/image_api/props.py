"""ImageApiProps: the settings of the HTTP API (constructs_lib/image_api/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from constructs_lib.domains.props import CustomDomain
from constructs_lib.errors import Problem
from constructs_lib.metrics import Threshold, alarm_problems, statistic_problem
from constructs_lib.validation import (
    cors_cache_and_expose_problems,
    exact_origin_problems,
    retention_problems,
    set_by_the_stack,
)

# The app's origins every stage's API answers (HTTP APIs match no wildcard subdomains, so each
# stage adds its own app origin).
API_CORS_ORIGINS = ("https://lego-moc.com", "https://www.lego-moc.com")
# What a browser app reads from the API's answers: the request id support asks for (an HTTP
# API sends it as apigw-requestid) and when to retry a throttled or unavailable call.
API_CORS_EXPOSE_HEADERS = ("apigw-requestid", "retry-after")


@dataclass(frozen=True)
class ApiAlarms:
    """The API's alarms (constructs_lib/image_api/alarms.py), AWS's recommended ones."""

    #: 5xx responses / requests (metric math), 3 of 3 minutes. Default: above 5 %.
    server_error_rate: Threshold = Threshold(0.05, 3)
    #: 4xx responses / requests, 5 of 5 minutes. Default: above 5 %.
    client_error_rate: Threshold = Threshold(0.05, 5)
    #: Latency (ms) at `latency_statistic`, 5 of 5 minutes. Default: p99 above 2 s.
    latency_ms: Threshold = Threshold(2000, 5)
    latency_statistic: str = "p99"

    def problems(self) -> list[Problem]:
        found = alarm_problems(self)
        problem = statistic_problem(self.latency_statistic)
        if problem:
            found.append(
                Problem("latency_statistic", problem, "use e.g. 'p99', 'p90' or 'Average'")
            )
        return found


@dataclass(frozen=True)
class ImageApiProps:
    """ImageApi: the HTTP API whose every route is behind the JWT authorizer."""

    #: Names the API and its log group.
    name: str
    #: Exact origins (HTTP APIs match no wildcard subdomains), or '*'. Default: the app's.
    cors_origins: tuple[str, ...] = API_CORS_ORIGINS
    #: Response headers a browser's script may read. Default: apigw-requestid, retry-after.
    cors_expose_headers: tuple[str, ...] = API_CORS_EXPOSE_HEADERS
    #: Seconds a browser may reuse a preflight's answer (0 to 86400). Default: 3600.
    cors_max_age_seconds: int = 3600
    #: Requests above the steady rate that may arrive at once. Default: 100.
    throttling_burst_limit: int = 100
    #: Requests per second, steady. Default: 50.
    throttling_rate_limit: float = 50.0
    #: Days the access logs are kept. Default: 14.
    access_log_retention_days: int = 14
    #: A hostname with its certificate (the stack adds it). Default: none (the API's
    #: execute-api name).
    custom_domain: CustomDomain | None = field(
        default=None, metadata=set_by_the_stack("the stage's custom domains (`domains`)")
    )
    #: Its alarms' thresholds. Default: AWS's recommended ones.
    alarms: ApiAlarms = ApiAlarms()

    def problems(self) -> list[Problem]:
        found = []
        if not self.cors_origins:
            found.append(
                Problem(
                    "cors_origins",
                    "the list is empty, so no browser app could call the API",
                    "list the app origins, e.g. 'https://lego-moc.com'",
                )
            )
        found += exact_origin_problems("cors_origins", self.cors_origins)
        found += cors_cache_and_expose_problems(
            "cors_max_age_seconds",
            self.cors_max_age_seconds,
            "cors_expose_headers",
            self.cors_expose_headers,
        )
        found += self._throttling_problems()
        found += retention_problems("access_log_retention_days", self.access_log_retention_days)
        found += [p.within("alarms") for p in self.alarms.problems()]
        return found

    def _throttling_problems(self) -> list[Problem]:
        burst, rate = self.throttling_burst_limit, self.throttling_rate_limit
        found = []
        burst_ok = isinstance(burst, int) and not isinstance(burst, bool) and burst > 0
        rate_ok = isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate > 0
        if not burst_ok:
            found.append(
                Problem(
                    "throttling_burst_limit",
                    f"{burst!r} is not positive",
                    "set a whole number of requests greater than 0, e.g. 100",
                )
            )
        if not rate_ok:
            found.append(
                Problem(
                    "throttling_rate_limit",
                    f"{rate!r} is not positive",
                    "set requests per second greater than 0, e.g. 50",
                )
            )
        if burst_ok and rate_ok and burst < rate:
            found.append(
                Problem(
                    "throttling_burst_limit",
                    f"the burst ({burst}) is below the steady rate ({rate:g} requests per "
                    "second). The burst is how many requests API Gateway's token bucket holds: "
                    "a second's worth of traffic at the steady rate needs at least the rate, so "
                    "every spike would be cut below the rate the stage is meant to sustain",
                    f"set the burst to at least the rate, e.g. {int(rate * 2)} for a rate of "
                    f"{rate:g}",
                )
            )
        return found


class ImageApiChanges(TypedDict, total=False):
    """What a stage's row may change of ImageApiProps (stacks/settings/stages.py): every field but
    its name, which the stage gives, and what the stack sets. mypy checks the stage table
    against it."""

    cors_origins: tuple[str, ...]
    cors_expose_headers: tuple[str, ...]
    cors_max_age_seconds: int
    throttling_burst_limit: int
    throttling_rate_limit: float
    access_log_retention_days: int
    alarms: ApiAlarms
