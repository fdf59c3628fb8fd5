"""The HTTP API (API Gateway v2) and its JWT authorizer: construct.py, props.py,
permissions.py, rules.py."""

from constructs_lib.concern import Concern
from constructs_lib.image_api import billing, permissions, rules

_LOG_DELIVERY = (
    "API Gateway's access logs and CloudFront's standard logs are vended-log deliveries, whose "
    "set-up actions authorize on no resource (CloudWatch Logs' docs, 'Enabling logging from "
    "AWS services')"
)
CONCERN = Concern(
    "image_api",
    families=permissions.FAMILIES,
    log_groups=("/aws/apigateway/{stack}/*",),
    identity={
        "aws_apigatewayv2_api": (
            "HTTP API: its execute-api endpoint changes, and every configured endpoint using it "
            "would stop working"
        ),
    },
    on_every_resource={
        f"logs:{action}": _LOG_DELIVERY
        for action in (
            "CreateLogDelivery",
            "GetLogDelivery",
            "UpdateLogDelivery",
            "DeleteLogDelivery",
            "ListLogDeliveries",
            "PutResourcePolicy",
            "DescribeResourcePolicies",
        )
    },
    rules=rules.RULES,
    billing=billing.BILLING,
    usage=billing.USAGE,
)
