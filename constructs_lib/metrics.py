"""A CloudWatch metric as the constructs' metric methods return it (as AWS CDK's
`api.metricServerError()`, `table.metricThrottledRequests()`): namespace, name, dimensions,
statistic, period and the region that publishes it; and an alarm's Threshold. The alarms and the
dashboard (constructs_lib/monitoring/, each concern's alarms.py) are built from these; importable
without cdktf."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from constructs_lib.errors import Problem

# CloudWatch's statistics, or a percentile pNN / pNN.N(N).
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d{1,2})?|100)$")


def statistic_problem(statistic: str) -> str | None:
    if statistic in STATISTICS or _PERCENTILE.match(statistic):
        return None
    return f"'{statistic}' is not a CloudWatch statistic (one of {', '.join(STATISTICS)}, or pNN)"


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: Mapping[str, str]
    statistic: str
    #: Seconds per datapoint. Default: one minute.
    period: int = 60
    #: Where CloudWatch publishes it. None: the stack's region (CloudFront's: us-east-1 only).
    region: str | None = None
    label: str = ""
    #: Extra fields of a dashboard widget's metric line (e.g. its y axis). Default: none.
    rendering: Mapping[str, Any] = field(default_factory=dict)

    def with_statistic(self, statistic: str) -> Metric:
        return Metric(
            self.namespace,
            self.name,
            self.dimensions,
            statistic,
            self.period,
            self.region,
            self.label,
            self.rendering,
        )

    def widget_line(self) -> list[Any]:
        """The metric as a line of a dashboard widget's `metrics` array."""
        line: list[Any] = [self.namespace, self.name]
        for key, value in self.dimensions.items():
            line += [key, value]
        options: dict[str, Any] = {"stat": self.statistic, "period": self.period}
        if self.region:
            options["region"] = self.region
        if self.label:
            options["label"] = self.label
        return [*line, {**options, **self.rendering}]


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


def alarm_problems(alarms: object) -> list[Problem]:
    """Every problem of a concern's alarm thresholds (each Threshold field of `alarms`)."""
    return [
        p.within(f.name)
        for f in fields(alarms)  # type: ignore[arg-type]
        if isinstance(getattr(alarms, f.name), Threshold)
        for p in getattr(alarms, f.name).problems()
    ]
