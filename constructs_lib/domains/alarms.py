"""An alarm on each certificate's days to expiry (threshold: its props' `alarms`,
CertificateAlarms)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from constructs_lib.monitoring.construct import MISSING

if TYPE_CHECKING:
    from constructs_lib.domains.construct import CustomDomains
    from constructs_lib.monitoring.construct import Monitoring


def add_alarms(monitoring: Monitoring, domains: CustomDomains) -> None:
    threshold = domains.props.alarms.days_to_expiry
    for slug, (certificate, region) in domains.certificates.items():
        monitoring.alarm(
            f"{slug}-certificate-expiry",
            metric=certificate.metric_days_to_expiry(region),
            threshold=threshold,
            comparison="LessThanThreshold",
            # ACM publishes once a day, and not before the certificate is issued: a day
            # without a datapoint keeps the alarm as it was.
            missing=MISSING,
            description=f"The certificate of {certificate.domain_name} expires in fewer days "
            "than the threshold: ACM's renewal (60 days ahead) is stuck. First: its validation "
            "CNAME in the stage's zone and the zone's delegation.",
        )
