"""AWS's recommended alarms on the HTTP API, and its dashboard graphs (thresholds: its props'
`alarms`, ApiAlarms)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from constructs_lib.image_api.construct import ImageApi
    from constructs_lib.monitoring.construct import Monitoring


def add_alarms(monitoring: Monitoring, api: ImageApi) -> None:
    thresholds = api.props.alarms
    requests = api.metric_requests()
    monitoring.alarm(
        "api-5xx-rate",
        metric=api.metric_server_errors(),
        divided_by=requests,
        threshold=thresholds.server_error_rate,
        description="The API answers 5xx to more than the threshold's share of requests. "
        "First: the handlers' Errors alarms and logs (/aws/lambda/...), then the API's "
        "access log for the failing routes. No requests: not breaching.",
    )
    monitoring.alarm(
        "api-4xx-rate",
        metric=api.metric_client_errors(),
        divided_by=requests,
        threshold=thresholds.client_error_rate,
        description="Many requests are refused (401/403 from the JWT authorizer, 404, 429 "
        "throttling). First: the access log's status and route; a new app release or "
        "expired tokens. No requests: not breaching.",
    )
    statistic = thresholds.latency_statistic
    monitoring.alarm(
        "api-latency",
        metric=api.metric_latency(statistic),
        threshold=thresholds.latency_ms,
        description=f"The API's {statistic} latency is high. First: the "
        "handlers' Duration, then the table's throttles and latency. No requests: not "
        "breaching.",
    )
    monitoring.graph(
        "API requests, 4xx, 5xx",
        [requests, api.metric_client_errors(), api.metric_server_errors()],
    )
    monitoring.graph("API latency (ms)", [api.metric_latency(s) for s in ("p50", "p90", "p99")])
