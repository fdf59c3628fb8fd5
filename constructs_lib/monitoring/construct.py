"""A stage's monitoring (MonitoringProps), modelled on cdk-monitoring-constructs: the constructs'
metric methods (constructs_lib/metrics.py) feed alarms and a dashboard.

- Two SNS topics, each encrypted with a customer managed KMS key: CloudWatch cannot publish to a
  topic encrypted with AWS's managed key aws/sns, whose key policy cannot grant it (SNS docs,
  "Enable compatibility between event sources from AWS services and encrypted topics"). One in
  the stack's region, one in us-east-1 for the alarms there (CloudFront's metrics and the CDN's
  certificate are published only in us-east-1, and an alarm's actions must be in its region).
  Only this account's CloudWatch alarms and Budgets may publish.
- The alarms of every construct it watches (`watch(api, table, ...)`), each added by the
  construct's own concern (its alarms.py: AWS's recommended alarms, with the thresholds of its
  props' `alarms`) and, automatically, of every ImageHandler and Cache created in the stack
  afterwards (they find this construct: `monitoring_of`); each with alarm and OK actions, the
  periods and thresholds given, missing data treated as the alarm says, and a description of
  what to look at first.
- A dashboard, built when the stack is synthesized (so it shows every handler), and a budget.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

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

from constructs_lib.metrics import STATISTICS, Metric, Threshold
from constructs_lib.monitoring.props import MonitoringProps
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


class Watched(Protocol):
    """A construct with alarms: it adds them to the stack's Monitoring."""

    def add_alarms(self, monitoring: Monitoring) -> None: ...


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

    def watch(self, *watched: Watched) -> None:
        """Each construct's alarms and dashboard graphs: it adds them itself (its concern's
        alarms.py), with this construct's `alarm` and `graph`."""
        for construct in watched:
            construct.add_alarms(self)

    def graph(self, title: str, metrics: list[Metric]) -> None:
        """A time-series widget on the dashboard, in its metrics' region (else the stack's)."""
        region = next((m.region for m in metrics if m.region), self.props.region)
        properties: dict[str, Any] = {
            "title": title,
            "view": "timeSeries",
            "region": region,
            "metrics": [m.widget_line() for m in metrics],
        }
        self._widgets.append({"type": "metric", "width": 12, "height": 6, "properties": properties})

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
