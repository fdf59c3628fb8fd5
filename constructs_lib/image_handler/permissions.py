"""The handlers' deploy and review permissions, and the most a handler's role may do with its
own logs and network."""

from __future__ import annotations

from collections.abc import Sequence

from constructs_lib.ci_identity.props import DeployScope
from constructs_lib.concern import Family, Statement, statement

# The one exception a handler's own role gets to the no-wildcard rule: exactly the EC2 actions
# of AWS's managed AWSLambdaVPCAccessExecutionRole (v3, 2024-01-05), which Lambda performs with
# the function's role to place it in a VPC, and which EC2 authorizes on no narrower resource.
LAMBDA_VPC_ACCESS_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
HANDLER_LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# What a handler does on no resource: its traces, and its network interfaces in a VPC.
HANDLER_ON_EVERY_RESOURCE = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    *LAMBDA_VPC_ACCESS_ACTIONS,
)

FAMILIES = (
    Family(
        "Handlers",
        lambda s, a: [f"arn:aws:lambda:{s.region}:{a}:function:{s.name}-*"],
        read=(
            "lambda:GetFunction",
            "lambda:GetFunctionConfiguration",
            "lambda:GetFunctionCodeSigningConfig",
            "lambda:GetPolicy",
            "lambda:ListVersionsByFunction",
            "lambda:ListTags",
        ),
        write=(
            "lambda:CreateFunction",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:DeleteFunction",
            "lambda:AddPermission",
            "lambda:RemovePermission",
            "lambda:PutFunctionConcurrency",
            "lambda:DeleteFunctionConcurrency",
            "lambda:TagResource",
            "lambda:UntagResource",
        ),
        types=("aws_lambda_function", "aws_lambda_permission"),
    ),
)


def boundary(stages: Sequence[DeployScope], account: str) -> list[Statement]:
    """A handler writes its own log streams."""
    return [
        statement(
            "OwnLogs",
            HANDLER_LOG_ACTIONS,
            [
                f"arn:aws:logs:{s.region}:{account}:log-group:/aws/lambda/{s.name}-*:*"
                for s in stages
            ],
        )
    ]
