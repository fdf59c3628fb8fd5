"""The cache's deploy and review permissions, and the most a handler may do with it."""

from __future__ import annotations

from collections.abc import Sequence

from constructs_lib.ci_identity.props import DeployScope
from constructs_lib.concern import Family, Statement, statement

# ElastiCache creates its service-linked role on an account's first cache; the deploy role may
# create exactly that role (IAM's docs, "Service-linked role permissions").
CACHE_SERVICE_LINKED_ROLE = (
    "arn:aws:iam::{account}:role/aws-service-role/elasticache.amazonaws.com/"
    "AWSServiceRoleForElastiCache"
)

FAMILIES = (
    # The cache (named after the stack): its replication group and nodes, subnet group, users,
    # user group, and the default parameter group it uses.
    Family(
        "Cache",
        lambda s, a: [
            f"arn:aws:elasticache:{s.region}:{a}:{kind}"
            for kind in (
                f"replicationgroup:{s.name}",
                f"cluster:{s.name}-*",
                f"subnetgroup:{s.name}",
                f"user:{s.name}-*",
                f"usergroup:{s.name}",
                "parametergroup:default.valkey*",
                f"snapshot:{s.name}-*",
            )
        ],
        read=(
            "elasticache:DescribeReplicationGroups",
            "elasticache:DescribeCacheClusters",
            "elasticache:DescribeCacheSubnetGroups",
            "elasticache:DescribeUsers",
            "elasticache:DescribeUserGroups",
            "elasticache:ListTagsForResource",
        ),
        write=(
            "elasticache:CreateReplicationGroup",
            "elasticache:ModifyReplicationGroup",
            "elasticache:DeleteReplicationGroup",
            "elasticache:CreateCacheSubnetGroup",
            "elasticache:ModifyCacheSubnetGroup",
            "elasticache:DeleteCacheSubnetGroup",
            "elasticache:CreateUser",
            "elasticache:ModifyUser",
            "elasticache:DeleteUser",
            "elasticache:CreateUserGroup",
            "elasticache:ModifyUserGroup",
            "elasticache:DeleteUserGroup",
            "elasticache:AddTagsToResource",
            "elasticache:RemoveTagsFromResource",
        ),
        types=(
            "aws_elasticache_replication_group",
            "aws_elasticache_subnet_group",
            "aws_elasticache_user",
            "aws_elasticache_user_group",
        ),
        concern="cache",
    ),
    Family(
        "CacheServiceLinkedRole",
        lambda s, a: [CACHE_SERVICE_LINKED_ROLE.format(account=a)],
        read=(),
        write=("iam:CreateServiceLinkedRole",),
        concern="cache",
        condition=lambda scopes: {
            "StringEquals": {"iam:AWSServiceName": "elasticache.amazonaws.com"}
        },
    ),
)


def boundary(stages: Sequence[DeployScope], account: str) -> list[Statement]:
    """A handler may connect to its stage's cache as the stage's app user, no more."""
    return [
        statement(
            "ServiceCache",
            ("elasticache:Connect",),
            [
                f"arn:aws:elasticache:{s.region}:{account}:{kind}"
                for s in stages
                for kind in (f"replicationgroup:{s.name}", f"user:{s.name}-app")
            ],
        )
    ]
