"""A stage's monitoring (MonitoringProps), modelled on cdk-monitoring-constructs: the constructs'
metric methods (constructs_lib/metrics.py) feed alarms and a dashboard.

- Two SNS topics, each encrypted with a customer managed KMS key: CloudWatch cannot publish to a
  topic encrypted with AWS's managed key aws/sns, whose key policy cannot grant it (SNS docs,
  "Enable compatibility between event sources from AWS services and encrypted topics"). One in
  the stack's region, one in us-east-1 for the alarms there (CloudFront's metrics and the CDN's
  certificate are published only in us-east-1, and an alarm's actions must be in its region).
  Only this account's CloudWatch alarms and Budgets may publish.
- AWS's recommended alarms on what `watch_*` is given (the API, the table and its indexes, the
  CDN, each certificate) and, automatically, on every ImageHandler created in the stack
  afterwards (it finds this construct: `monitoring_of`); each with alarm and OK actions, the
  periods and thresholds of its props, missing data treated as the alarm says, and a
  description of what to look at first.
- A dashboard, built when the stack is synthesized (so it shows every handler), and a budget.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsii
from cdktf import IResolveContext, IStringProducer, Lazy, TerraformProvider, TerraformStack
from cdktf_cdktf_provider_aws.budgets_budget import (
    BudgetsBudget,
    BudgetsBudgetCostFilter,
    BudgetsBudgetNotification,
)
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from constructs_lib.metrics import STATISTICS, Metric
from constructs_lib.monitoring.props import MonitoringProps, Threshold
from constructs_lib.shared import CLOUDFRONT_REGION
from constructs_lib.validation import check

# AWS's managed key for SNS: encrypts at rest, but its policy lets no AWS service (CloudWatch,
# Budgets) use it, so alarms could not publish to a topic under it (emulator only).
AWS_MANAGED_SNS_KEY = "alias/aws/sns"
# What CloudWatch does with a period that has no datapoint, per alarm (each says why).
NOT_BREACHING = "notBreaching"
MISSING = "missing"


@dataclass(frozen=True)
class _Topic:
    topic: SnsTopic
    provider: TerraformProvider | None

    @property
    def arn(self) -> str:
        return self.topic.arn


class Monitoring(Construct):
    """Exposes `topic`, `global_topic` (us-east-1) and `alarms` (by name)."""

    #: Its construct id in the stack: ImageHandler finds it there (`monitoring_of`).
    ID = "Monitoring"

    def __init__(
        self,
        scope: Construct,
        props: MonitoringProps,
        account_id: str,
        global_provider: TerraformProvider | None = None,
    ):
        check(props, f"Monitoring '{props.name}'")
        super().__init__(scope, self.ID)
        self.props, self.account_id = props, account_id
        self.topic = self._topic("Alarms", props.name, None)
        self.global_topic = self._topic("GlobalAlarms", f"{props.name}-us-east-1", global_provider)
        self.alarms: dict[str, CloudwatchMetricAlarm] = {}
        self._widgets: list[dict[str, Any]] = []
        if props.dashboard:
            CloudwatchDashboard(
                self,
                "Dashboard",
                dashboard_name=props.name,
                dashboard_body=Lazy.string_value(_DashboardBody(self)),
            )
        if props.budget is not None:
            self._budget()

    # ---- topics -------------------------------------------------------------------------------
    def _topic(self, id_: str, name: str, provider: TerraformProvider | None) -> _Topic:
        key = (
            KmsKey(
                self,
                f"{id_}Key",
                description=f"{name}: encrypts the alarm topic (CloudWatch and Budgets may use it)",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=json.dumps(self._key_policy()),
                provider=provider,
            )
            if self.props.customer_managed_keys
            else None
        )
        topic = SnsTopic(
            self,
            f"{id_}Topic",
            name=f"{name}-alarms",
            kms_master_key_id=key.arn if key else AWS_MANAGED_SNS_KEY,
            provider=provider,
        )
        SnsTopicPolicy(
            self,
            f"{id_}TopicPolicy",
            arn=topic.arn,
            policy=json.dumps(self._topic_policy(topic.arn)),
            provider=provider,
        )
        for index, subscription in enumerate(self.props.subscriptions):
            SnsTopicSubscription(
                self,
                f"{id_}Subscription{index}",
                topic_arn=topic.arn,
                protocol=subscription.protocol,
                endpoint=subscription.endpoint,
                provider=provider,
            )
        return _Topic(topic, provider)

    def _publishers(self) -> dict[str, Any]:
        return {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]}

    def _key_policy(self) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "TheAccountAdministersTheKey",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{self.account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "AlarmsAndBudgetsEncryptNotifications",
                    "Effect": "Allow",
                    "Principal": self._publishers(),
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": self.account_id}},
                },
            ],
        }

    def _topic_policy(self, topic_arn: str) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OnlyThisAccountsAlarmsAndBudgetsPublish",
                    "Effect": "Allow",
                    "Principal": self._publishers(),
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {"StringEquals": {"aws:SourceAccount": self.account_id}},
                }
            ],
        }

    # ---- alarms -------------------------------------------------------------------------------
    def alarm(
        self,
        slug: str,
        *,
        metric: Metric,
        threshold: Threshold,
        description: str,
        comparison: str = "GreaterThanThreshold",
        missing: str = NOT_BREACHING,
        divided_by: Metric | None = None,
        name: str | None = None,
    ) -> CloudwatchMetricAlarm:
        """An alarm on `metric` (or metric / divided_by, as a rate), N of N periods, named
        `<monitoring name>-<slug>` unless `name` is given."""
        topic = self.global_topic if metric.region == CLOUDFRONT_REGION else self.topic
        common: dict[str, Any] = dict(
            alarm_name=name or f"{self.props.name}-{slug}",
            alarm_description=description,
            comparison_operator=comparison,
            threshold=threshold.value,
            evaluation_periods=threshold.periods,
            datapoints_to_alarm=threshold.periods,
            treat_missing_data=missing,
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            provider=topic.provider,
        )
        if divided_by is None:
            alarm = CloudwatchMetricAlarm(self, f"Alarm-{slug}", **common, **_single(metric))
        else:
            alarm = CloudwatchMetricAlarm(
                self, f"Alarm-{slug}", **common, metric_query=_rate(metric, divided_by)
            )
        self.alarms[slug] = alarm
        return alarm

    def watch_api(self, api: Any) -> None:
        props = self.props
        requests = api.metric_requests()
        self.alarm(
            "api-5xx-rate",
            metric=api.metric_server_errors(),
            divided_by=requests,
            threshold=props.api_5xx_rate,
            description="The API answers 5xx to more than the threshold's share of requests. "
            "First: the handlers' Errors alarms and logs (/aws/lambda/...), then the API's "
            "access log for the failing routes. No requests: not breaching.",
        )
        self.alarm(
            "api-4xx-rate",
            metric=api.metric_client_errors(),
            divided_by=requests,
            threshold=props.api_4xx_rate,
            description="Many requests are refused (401/403 from the JWT authorizer, 404, 429 "
            "throttling). First: the access log's status and route; a new app release or "
            "expired tokens. No requests: not breaching.",
        )
        self.alarm(
            "api-latency",
            metric=api.metric_latency(props.api_latency_statistic),
            threshold=props.api_latency_ms,
            description=f"The API's {props.api_latency_statistic} latency is high. First: the "
            "handlers' Duration, then the table's throttles and latency. No requests: not "
            "breaching.",
        )
        self._widgets += [
            self._graph(
                "API requests, 4xx, 5xx",
                [requests, api.metric_client_errors(), api.metric_server_errors()],
            ),
            self._graph(
                "API latency (ms)",
                [api.metric_latency(s) for s in ("p50", "p90", "p99")],
            ),
        ]

    def watch_table(self, table: Any) -> None:
        props = self.props
        for index in (None, *table.index_names):
            suffix = f"-{index}" if index else ""
            where = f"the index {index}" if index else "the table"
            for kind, metric in (
                ("read", table.metric_read_throttles(index)),
                ("write", table.metric_write_throttles(index)),
            ):
                self.alarm(
                    f"table{suffix}-{kind}-throttles",
                    metric=metric,
                    threshold=props.table_throttles,
                    description=f"DynamoDB throttles {kind}s of {where} (on demand: a hot "
                    "partition key, or more than double the previous peak). First: the key "
                    "the handlers write or query most. No requests: not breaching.",
                )
        self.alarm(
            "table-system-errors",
            metric=table.metric_system_errors(),
            threshold=props.table_system_errors,
            description="DynamoDB fails requests on its side (500s). First: the AWS Health "
            "Dashboard for DynamoDB in the region; the handlers retry. None: not breaching.",
        )
        self._widgets += [
            self._graph(
                "Table consumed capacity",
                [table.metric_consumed_read_capacity(), table.metric_consumed_write_capacity()],
            ),
            self._graph(
                "Table throttles",
                [table.metric_read_throttles(), table.metric_write_throttles()],
            ),
            self._graph("Table latency (ms)", [table.metric_latency()]),
        ]

    def watch_cdn(self, cdn: Any) -> None:
        self.alarm(
            "cdn-5xx-error-rate",
            metric=cdn.metric_5xx_error_rate(),
            threshold=self.props.cdn_5xx_error_rate,
            description="CloudFront answers 5xx (percent of responses): the bucket refuses "
            "CloudFront (its policy, the origin access control) or S3 fails. First: a recent "
            "change of the bucket policy. No requests: not breaching.",
        )
        self._widgets += [
            self._graph("CDN requests", [cdn.metric_requests()]),
            self._graph(
                "CDN error rates (%)", [cdn.metric_4xx_error_rate(), cdn.metric_5xx_error_rate()]
            ),
            self._graph("CDN bytes downloaded", [cdn.metric_bytes_downloaded()]),
        ]

    def watch_certificate(self, slug: str, certificate: Any, region: str | None) -> None:
        threshold = self.props.certificate_days_to_expiry
        self.alarm(
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

    def watch_handler(self, handler: Any) -> None:
        props, name = self.props, handler.props.name
        self.alarm(
            f"{name}-errors",
            name=f"{name}-errors",
            metric=handler.metric_errors(),
            threshold=props.handler_errors,
            description=f"{name} fails invocations. First: its log group /aws/lambda/{name} "
            "(the exception, a timeout, out of memory). No invocations: not breaching.",
        )
        self.alarm(
            f"{name}-throttles",
            name=f"{name}-throttles",
            metric=handler.metric_throttles(),
            threshold=props.handler_throttles,
            description=f"{name} is refused for concurrency. First: its reserved concurrency "
            "and the account's unreserved pool. No invocations: not breaching.",
        )
        timeout_ms = handler.props.timeout_seconds * 1000
        self.alarm(
            f"{name}-duration",
            name=f"{name}-duration",
            metric=handler.metric_duration("p90"),
            threshold=Threshold(timeout_ms * props.handler_duration_of_timeout, 15),
            description=f"{name}'s p90 duration nears its {handler.props.timeout_seconds} s "
            "timeout. First: the table's latency and throttles, then the code path in its "
            "logs. No invocations: not breaching.",
        )
        self._widgets.append(
            self._graph(
                f"{name}: invocations, errors, duration",
                [
                    handler.metric_invocations(),
                    handler.metric_errors(),
                    handler.metric_duration("p90"),
                ],
            )
        )

    def watch_cache(self, cache: Any) -> None:
        props = self.props
        for node in cache.node_ids:
            self.alarm(
                f"cache-{node}-memory",
                name=f"{node}-memory",
                metric=cache.metric_memory_usage(node),
                threshold=props.cache_memory_percent,
                description=f"The cache node {node} is nearly full; at 100 % it evicts keys "
                "(more table reads). First: the keys' TTLs, then a larger node type "
                "(cache.node_type). No data: not breaching.",
            )
            self.alarm(
                f"cache-{node}-engine-cpu",
                name=f"{node}-engine-cpu",
                metric=cache.metric_engine_cpu(node),
                threshold=props.cache_engine_cpu_percent,
                description=f"The cache node {node}'s engine thread is saturated: commands "
                "queue. First: expensive commands in the handlers (large values, scans), then "
                "a larger node type. No data: not breaching.",
            )
        self._widgets += [
            self._graph(
                "Cache memory used (%)", [cache.metric_memory_usage(n) for n in cache.node_ids]
            ),
            self._graph(
                "Cache engine CPU (%)", [cache.metric_engine_cpu(n) for n in cache.node_ids]
            ),
            self._graph("Cache connections", [cache.metric_connections(n) for n in cache.node_ids]),
        ]

    # ---- budget and dashboard -----------------------------------------------------------------
    def _budget(self) -> None:
        budget = self.props.budget
        assert budget is not None
        BudgetsBudget(
            self,
            "Budget",
            name=self.props.name,
            budget_type="COST",
            limit_amount=f"{budget.monthly_usd:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            cost_filter=[
                BudgetsBudgetCostFilter(
                    name="TagKeyValue", values=[f"user:{k}${v}" for k, v in budget.tags.items()]
                )
            ]
            if budget.tags
            else None,
            notification=[
                BudgetsBudgetNotification(
                    comparison_operator="GREATER_THAN",
                    threshold=percent,
                    threshold_type="PERCENTAGE",
                    notification_type=kind,
                    subscriber_sns_topic_arns=[self.topic.arn],
                )
                for kind, percent in (
                    ("ACTUAL", budget.actual_percent),
                    ("FORECASTED", budget.forecast_percent),
                )
            ],
        )

    def _graph(self, title: str, metrics: list[Metric]) -> dict[str, Any]:
        """A time-series widget, in its metrics' region (else the stack's)."""
        region = next((m.region for m in metrics if m.region), self.props.region)
        properties: dict[str, Any] = {
            "title": title,
            "view": "timeSeries",
            "region": region,
            "metrics": [m.widget_line() for m in metrics],
        }
        return {"type": "metric", "width": 12, "height": 6, "properties": properties}

    def dashboard_body(self) -> str:
        widgets = [
            {
                "type": "alarm",
                "width": 24,
                "height": 6,
                "properties": {
                    "title": "Alarms",
                    "region": self.props.region,
                    "alarms": [alarm.arn for alarm in self.alarms.values()],
                },
            },
            *self._widgets,
        ]
        return json.dumps({"widgets": widgets})


@jsii.implements(IStringProducer)
class _DashboardBody:
    """The dashboard's body, produced when the stack is synthesized (every handler watched)."""

    def __init__(self, monitoring: Monitoring):
        self.monitoring = monitoring

    def produce(self, context: IResolveContext) -> str:
        return self.monitoring.dashboard_body()


def _single(metric: Metric) -> dict[str, Any]:
    statistic: dict[str, Any] = (
        {"statistic": metric.statistic}
        if metric.statistic in STATISTICS
        else {"extended_statistic": metric.statistic}
    )
    return dict(
        namespace=metric.namespace,
        metric_name=metric.name,
        dimensions=dict(metric.dimensions),
        period=metric.period,
        **statistic,
    )


def _query_metric(metric: Metric) -> CloudwatchMetricAlarmMetricQueryMetric:
    return CloudwatchMetricAlarmMetricQueryMetric(
        namespace=metric.namespace,
        metric_name=metric.name,
        dimensions=dict(metric.dimensions),
        period=metric.period,
        stat=metric.statistic,
    )


def _rate(metric: Metric, total: Metric) -> list[CloudwatchMetricAlarmMetricQuery]:
    """metric / total as the alarm's value (0 without any total)."""
    return [
        CloudwatchMetricAlarmMetricQuery(id="part", metric=_query_metric(metric)),
        CloudwatchMetricAlarmMetricQuery(id="total", metric=_query_metric(total)),
        CloudwatchMetricAlarmMetricQuery(
            id="rate",
            expression="IF(total > 0, part / total, 0)",
            label=f"{metric.name} / {total.name}",
            return_data=True,
        ),
    ]


def monitoring_of(scope: Construct) -> Monitoring | None:
    """The stack's Monitoring, if it has one (ImageHandler registers itself with it)."""
    found = TerraformStack.of(scope).node.try_find_child(Monitoring.ID)
    return found if isinstance(found, Monitoring) else None
