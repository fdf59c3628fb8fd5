"""What the CI identity grants across concerns: the stage's log groups (each concern names its
own) and the roles a deploy creates (the handlers', the flow-log role)."""

from __future__ import annotations

from constructs_lib.ci_identity.props import DeployScope
from constructs_lib.concern import Family, log_groups

# What every role reads on no resource besides its families': the tagging API (the nightly
# clean-up finds derived stages by their tags).
READ_ON_EVERY_RESOURCE = ("tag:GetResources",)
# What the review role alone reads on no resource: the price list, for the cost estimate's
# price table (python -m ops.cost.refresh).
REVIEW_ON_EVERY_RESOURCE = ("pricing:GetProducts",)
ON_EVERY_RESOURCE = {
    "pricing:GetProducts": "the AWS Price List API authorizes on no resource (the review role "
    "refreshes the cost estimate's price table: python -m ops.cost.refresh)",
    "logs:DescribeLogGroups": "CloudWatch Logs lists log groups on no resource",
    "tag:GetResources": "the tagging API lists resources by their tags on no resource (the "
    "nightly clean-up finds derived stages by their CreatedOn tag)",
}


def _log_groups(s: DeployScope, account: str) -> list[str]:
    """The stage's log groups, as each concern names its own (Concern.log_groups)."""
    prefix = f"arn:aws:logs:*:{account}:log-group:"
    return [prefix + name.format(stack=s.name) for name in log_groups()]


# A stage's log groups and the roles its deploy creates belong to no one concern: several
# create each.
FAMILIES = (
    Family(
        "LogGroups",
        _log_groups,
        read=("logs:ListTagsForResource", "logs:ListTagsLogGroup"),
        write=(
            "logs:CreateLogGroup",
            "logs:DeleteLogGroup",
            "logs:PutRetentionPolicy",
            "logs:DeleteRetentionPolicy",
            "logs:TagResource",
            "logs:UntagResource",
            "logs:TagLogGroup",
            "logs:UntagLogGroup",
        ),
        types=("aws_cloudwatch_log_group",),
        read_anywhere=("logs:DescribeLogGroups",),
    ),
    # The handlers' and the flow-log role: created and given policies only with the boundary
    # (constructs_lib/ci_identity/construct.py, BoundedHandlerRoles).
    Family(
        "HandlerRoles",
        lambda s, a: [f"arn:aws:iam::{a}:role/{s.name}-*"],
        read=(
            "iam:GetRole",
            "iam:GetRolePolicy",
            "iam:ListRolePolicies",
            "iam:ListAttachedRolePolicies",
            "iam:ListInstanceProfilesForRole",
        ),
        write=(
            "iam:DeleteRole",
            "iam:TagRole",
            "iam:UntagRole",
            "iam:UpdateRole",
            "iam:UpdateAssumeRolePolicy",
        ),
        types=("aws_iam_role", "aws_iam_role_policy"),
    ),
)
