"""AWS's recommended alarm on the CDN, and its dashboard graphs (threshold: its props'
`alarms`, CdnAlarms)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from constructs_lib.image_cdn.construct import ImageCdn
    from constructs_lib.monitoring.construct import Monitoring


def add_alarms(monitoring: Monitoring, cdn: ImageCdn) -> None:
    monitoring.alarm(
        "cdn-5xx-error-rate",
        metric=cdn.metric_5xx_error_rate(),
        threshold=cdn.props.alarms.server_error_rate,
        description="CloudFront answers 5xx (percent of responses): the bucket refuses "
        "CloudFront (its policy, the origin access control) or S3 fails. First: a recent "
        "change of the bucket policy. No requests: not breaching.",
    )
    monitoring.graph("CDN requests", [cdn.metric_requests()])
    monitoring.graph(
        "CDN error rates (%)", [cdn.metric_4xx_error_rate(), cdn.metric_5xx_error_rate()]
    )
    monitoring.graph("CDN bytes downloaded", [cdn.metric_bytes_downloaded()])
