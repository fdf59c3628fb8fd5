"""Monitoring's deploy and review permissions: the alarm topics and their keys, the alarms, the
dashboard, the budget."""

from __future__ import annotations

from constructs_lib.concern import Family

FAMILIES = (
    # The alarm topics (<stack>-alarms and its us-east-1 twin) and their subscriptions.
    Family(
        "AlarmTopics",
        lambda s, a: [f"arn:aws:sns:*:{a}:{s.name}-*"],
        read=(
            "sns:GetTopicAttributes",
            "sns:ListSubscriptionsByTopic",
            "sns:ListTagsForResource",
        ),
        write=(
            "sns:CreateTopic",
            "sns:DeleteTopic",
            "sns:SetTopicAttributes",
            "sns:Subscribe",
            "sns:TagResource",
            "sns:UntagResource",
        ),
        types=("aws_sns_topic", "aws_sns_topic_policy", "aws_sns_topic_subscription"),
        # A subscription's own actions authorize on no resource type (the Service Authorization
        # Reference's SNS table lists none for them: its "*" rule applies).
        read_anywhere=("sns:GetSubscriptionAttributes",),
        write_anywhere=("sns:SetSubscriptionAttributes", "sns:Unsubscribe"),
    ),
    # The topics' keys have generated ids: the account's keys (kms:CreateKey authorizes on none).
    Family(
        "TopicKeys",
        lambda s, a: [f"arn:aws:kms:*:{a}:key/*"],
        read=(
            "kms:DescribeKey",
            "kms:GetKeyPolicy",
            "kms:GetKeyRotationStatus",
            "kms:ListResourceTags",
        ),
        write=(
            "kms:EnableKeyRotation",
            "kms:PutKeyPolicy",
            "kms:UpdateKeyDescription",
            "kms:ScheduleKeyDeletion",
            "kms:TagResource",
            "kms:UntagResource",
        ),
        types=("aws_kms_key",),
        write_anywhere=("kms:CreateKey",),
    ),
    # Alarms are named after the stack (its handlers' and cache nodes' names start with it).
    Family(
        "Alarms",
        lambda s, a: [
            f"arn:aws:cloudwatch:*:{a}:alarm:{s.name}-*",
            f"arn:aws:cloudwatch::{a}:dashboard/{s.name}",
        ],
        read=(
            "cloudwatch:DescribeAlarms",
            "cloudwatch:GetDashboard",
            "cloudwatch:ListTagsForResource",
        ),
        write=(
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:DeleteAlarms",
            "cloudwatch:PutDashboard",
            "cloudwatch:DeleteDashboards",
            "cloudwatch:TagResource",
            "cloudwatch:UntagResource",
        ),
        types=("aws_cloudwatch_metric_alarm", "aws_cloudwatch_dashboard"),
    ),
    Family(
        "Budget",
        lambda s, a: [f"arn:aws:budgets::{a}:budget/{s.name}"],
        read=("budgets:ViewBudget", "budgets:ListTagsForResource"),
        write=("budgets:ModifyBudget", "budgets:TagResource", "budgets:UntagResource"),
        types=("aws_budgets_budget",),
        concern="budget",
    ),
)
