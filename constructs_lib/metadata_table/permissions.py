"""The metadata table's deploy and review permissions, and the most a handler may do with it."""

from __future__ import annotations

from collections.abc import Sequence

from constructs_lib.ci_identity.props import DeployScope
from constructs_lib.concern import Family, Statement, statement

# The handlers' own permissions on the table can never exceed these (the boundary).
HANDLER_DATA_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:DescribeTable",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
)

FAMILIES = (
    Family(
        "Table",
        lambda s, a: [
            f"arn:aws:dynamodb:{s.region}:{a}:table/{s.table_name}",
            f"arn:aws:dynamodb:{s.region}:{a}:table/{s.table_name}/*",
        ],
        read=(
            "dynamodb:DescribeTable",
            "dynamodb:DescribeContinuousBackups",
            "dynamodb:DescribeTimeToLive",
            "dynamodb:ListTagsOfResource",
        ),
        write=(
            "dynamodb:CreateTable",
            "dynamodb:UpdateTable",
            "dynamodb:DeleteTable",
            "dynamodb:UpdateContinuousBackups",
            "dynamodb:UpdateTimeToLive",
            "dynamodb:TagResource",
            "dynamodb:UntagResource",
        ),
        types=("aws_dynamodb_table",),
    ),
)


def boundary(stages: Sequence[DeployScope], account: str) -> list[Statement]:
    """A handler may read and write the stages' tables, their indexes and streams, no more."""
    tables = [
        f"arn:aws:dynamodb:{s.region}:{account}:table/{s.table_name}{suffix}"
        for s in stages
        for suffix in ("", "/index/*", "/stream/*")
    ]
    return [statement("ServiceTables", HANDLER_DATA_ACTIONS, tables)]
