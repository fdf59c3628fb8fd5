"""Monitoring: the alarm topics, AWS's recommended alarms, the dashboard and the budget
(construct.py, props.py, permissions.py)."""

from constructs_lib.concern import Concern
from constructs_lib.monitoring import billing, permissions

_SUBSCRIPTION = (
    "an SNS subscription's own actions authorize on no resource type (the Service Authorization "
    "Reference's SNS table lists none for them, so IAM matches them only against '*')"
)
CONCERN = Concern(
    "monitoring",
    families=permissions.FAMILIES,
    identity={
        "aws_sns_topic": (
            "alarm topic: every subscription (the on-call's email, the incident tool's webhook) is "
            "lost with it and must be confirmed again"
        ),
    },
    on_every_resource={
        "kms:CreateKey": "a key's ARN does not exist before it is created",
        "sns:GetSubscriptionAttributes": _SUBSCRIPTION,
        "sns:SetSubscriptionAttributes": _SUBSCRIPTION,
        "sns:Unsubscribe": _SUBSCRIPTION,
    },
    billing=billing.BILLING,
    usage=billing.USAGE,
)
