"""AWS's recommended alarms on a handler, and its dashboard graph (thresholds: its props'
`alarms`, HandlerAlarms)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from constructs_lib.metrics import Threshold

if TYPE_CHECKING:
    from constructs_lib.image_handler.construct import ImageHandler
    from constructs_lib.monitoring.construct import Monitoring


def add_alarms(monitoring: Monitoring, handler: ImageHandler) -> None:
    thresholds, name = handler.props.alarms, handler.props.name
    monitoring.alarm(
        f"{name}-errors",
        name=f"{name}-errors",
        metric=handler.metric_errors(),
        threshold=thresholds.errors,
        description=f"{name} fails invocations. First: its log group /aws/lambda/{name} "
        "(the exception, a timeout, out of memory). No invocations: not breaching.",
    )
    monitoring.alarm(
        f"{name}-throttles",
        name=f"{name}-throttles",
        metric=handler.metric_throttles(),
        threshold=thresholds.throttles,
        description=f"{name} is refused for concurrency. First: its reserved concurrency "
        "and the account's unreserved pool. No invocations: not breaching.",
    )
    timeout_ms = handler.props.timeout_seconds * 1000
    monitoring.alarm(
        f"{name}-duration",
        name=f"{name}-duration",
        metric=handler.metric_duration("p90"),
        threshold=Threshold(timeout_ms * thresholds.duration_of_timeout, 15),
        description=f"{name}'s p90 duration nears its {handler.props.timeout_seconds} s "
        "timeout. First: the table's latency and throttles, then the code path in its "
        "logs. No invocations: not breaching.",
    )
    monitoring.graph(
        f"{name}: invocations, errors, duration",
        [handler.metric_invocations(), handler.metric_errors(), handler.metric_duration("p90")],
    )
