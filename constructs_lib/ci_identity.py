"""An account's CI identity, as AWS CDK's `cdk bootstrap` gives each account (CiIdentityProps):
GitHub's OIDC provider, a read-only review role, a deploy role per stage, and the permissions
boundary every role a deploy creates must carry, so that a deploy role cannot raise its own
privileges through a role it makes.

What each role may do comes from one table (FAMILIES): per kind of resource, the ARNs of a
stage's resources and the actions that read and that change them. A stage's deploy role gets
both on its own stage's resources; the account's review role gets the reads on every stage's.
Actions AWS authorizes on no resource ("*") are granted in statements of their own, each action
with its reason (constructs_lib/kinds.py, ACTIONS_ON_EVERY_RESOURCE: the organisation policy
accepts a `*` resource there and nowhere else).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from constructs_lib.props.ci_identity import (
    DEPLOY_ROLE_PREFIX,
    DEPLOY_SESSION_SECONDS,
    GITHUB_OIDC_AUDIENCE,
    GITHUB_OIDC_HOST,
    GITHUB_OIDC_URL,
    PERMISSIONS_BOUNDARY,
    REVIEW_ROLE,
    REVIEW_SESSION_SECONDS,
    CiIdentityProps,
    DeployScope,
)
from constructs_lib.validation import check

Resources = Callable[[DeployScope, str], list[str]]


@dataclass(frozen=True)
class Family:
    """One kind of resource of a stage: its ARNs, what reads it and what changes it."""

    sid: str
    resources: Resources
    read: tuple[str, ...]
    write: tuple[str, ...] = ()


def _log_groups(s: DeployScope, account: str) -> list[str]:
    prefix = f"arn:aws:logs:*:{account}:log-group:"
    return [
        f"{prefix}/aws/apigateway/{s.name}/*",
        f"{prefix}/aws/cloudfront/{s.name}",
        f"{prefix}/aws/cloudfront/{s.name}:*",
        f"{prefix}/aws/lambda/{s.name}-*",
    ]


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
    ),
    Family(
        "ImageBucket",
        lambda s, a: [f"arn:aws:s3:::{s.bucket_name}"],
        read=(
            "s3:ListBucket",
            "s3:GetBucket*",
            "s3:GetAccelerateConfiguration",
            "s3:GetEncryptionConfiguration",
            "s3:GetLifecycleConfiguration",
            "s3:GetReplicationConfiguration",
        ),
        write=(
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:PutBucket*",
            "s3:DeleteBucketPolicy",
            "s3:PutEncryptionConfiguration",
            "s3:PutLifecycleConfiguration",
            "s3:ListBucketVersions",
        ),
    ),
    # A test stage's bucket is emptied when it is destroyed (force_destroy); nothing reads it.
    Family(
        "ImageObjects",
        lambda s, a: [f"arn:aws:s3:::{s.bucket_name}/*"],
        read=(),
        write=("s3:DeleteObject", "s3:DeleteObjectVersion"),
    ),
    # CloudFront names its resources by generated ids: the account's CloudFront resources.
    Family(
        "Cdn",
        lambda s, a: [
            f"arn:aws:cloudfront::{a}:{kind}/*"
            for kind in (
                "distribution",
                "origin-access-control",
                "origin-access-identity",
                "cache-policy",
                "response-headers-policy",
            )
        ],
        read=("cloudfront:Get*", "cloudfront:ListTagsForResource"),
        write=(
            "cloudfront:CreateDistribution",
            "cloudfront:UpdateDistribution",
            "cloudfront:DeleteDistribution",
            "cloudfront:CreateOriginAccessControl",
            "cloudfront:UpdateOriginAccessControl",
            "cloudfront:DeleteOriginAccessControl",
            "cloudfront:CreateCloudFrontOriginAccessIdentity",
            "cloudfront:UpdateCloudFrontOriginAccessIdentity",
            "cloudfront:DeleteCloudFrontOriginAccessIdentity",
            "cloudfront:CreateCachePolicy",
            "cloudfront:UpdateCachePolicy",
            "cloudfront:DeleteCachePolicy",
            "cloudfront:CreateResponseHeadersPolicy",
            "cloudfront:UpdateResponseHeadersPolicy",
            "cloudfront:DeleteResponseHeadersPolicy",
            "cloudfront:TagResource",
            "cloudfront:UntagResource",
            # Standard logging v2: the distribution as a vended-log delivery source.
            "cloudfront:AllowVendedLogDeliveryForResource",
        ),
    ),
    # API Gateway's management API: HTTP verbs on resource paths (APIs have generated ids).
    Family(
        "Api",
        lambda s, a: [
            f"arn:aws:apigateway:{s.region}::/{path}"
            for path in ("apis", "apis/*", "domainnames", "domainnames/*", "tags/*")
        ],
        read=("apigateway:GET",),
        write=("apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"),
    ),
    Family(
        "Auth",
        lambda s, a: [f"arn:aws:cognito-idp:{s.region}:{a}:userpool/*"],
        read=(
            "cognito-idp:DescribeUserPool",
            "cognito-idp:DescribeUserPoolClient",
            "cognito-idp:GetUserPoolMfaConfig",
            "cognito-idp:ListTagsForResource",
        ),
        write=(
            "cognito-idp:UpdateUserPool",
            "cognito-idp:DeleteUserPool",
            "cognito-idp:SetUserPoolMfaConfig",
            "cognito-idp:CreateUserPoolClient",
            "cognito-idp:UpdateUserPoolClient",
            "cognito-idp:DeleteUserPoolClient",
            "cognito-idp:TagResource",
            "cognito-idp:UntagResource",
        ),
    ),
    Family(
        "Certificates",
        lambda s, a: [f"arn:aws:acm:*:{a}:certificate/*"],
        read=("acm:DescribeCertificate", "acm:ListTagsForCertificate"),
        write=(
            "acm:DeleteCertificate",
            "acm:AddTagsToCertificate",
            "acm:RemoveTagsFromCertificate",
        ),
    ),
    Family(
        "Zones",
        lambda s, a: ["arn:aws:route53:::hostedzone/*"],
        read=(
            "route53:GetHostedZone",
            "route53:ListResourceRecordSets",
            "route53:ListTagsForResource",
            "route53:GetDNSSEC",
        ),
        write=(
            "route53:ChangeResourceRecordSets",
            "route53:DeleteHostedZone",
            "route53:ChangeTagsForResource",
        ),
    ),
    Family("ZoneChanges", lambda s, a: ["arn:aws:route53:::change/*"], read=("route53:GetChange",)),
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
    ),
    # CloudFront's standard logs v2 are delivered from us-east-1 only.
    Family(
        "LogDeliveries",
        lambda s, a: [
            f"arn:aws:logs:us-east-1:{a}:{kind}:*"
            for kind in ("delivery-source", "delivery-destination", "delivery")
        ],
        read=(
            "logs:GetDeliverySource",
            "logs:GetDeliveryDestination",
            "logs:GetDelivery",
            "logs:ListTagsForResource",
        ),
        write=(
            "logs:PutDeliverySource",
            "logs:DeleteDeliverySource",
            "logs:PutDeliveryDestination",
            "logs:DeleteDeliveryDestination",
            "logs:CreateDelivery",
            "logs:DeleteDelivery",
            "logs:TagResource",
            "logs:UntagResource",
        ),
    ),
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
    ),
    # The handlers' roles: created and given policies only with the boundary (below).
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
    ),
)
# What the deploy role does to a handler's role only while the role carries the boundary.
BOUNDED_ROLE_ACTIONS = (
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
)
# The deploy role's and the review role's actions that AWS authorizes on no resource.
DEPLOY_ON_EVERY_RESOURCE = (
    "cognito-idp:CreateUserPool",
    "acm:RequestCertificate",
    "route53:CreateHostedZone",
    "logs:CreateLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:PutResourcePolicy",
)
READ_ON_EVERY_RESOURCE = (
    "route53:ListHostedZones",
    "route53:ListHostedZonesByName",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
)
# What no review may read, as CDK's lookup role denies it: decrypted data and secrets.
REVIEW_DENIED = (
    "kms:Decrypt",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
)
# The handlers' own permissions can never exceed these, whatever the deploy role writes.
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
    "dynamodb:ListStreams",
)
HANDLER_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
HANDLER_LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
HANDLER_ON_EVERY_RESOURCE = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


def statement(
    sid: str,
    actions: tuple[str, ...] | list[str],
    resources: list[str],
    effect: str = "Allow",
    condition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "Sid": sid,
        "Effect": effect,
        "Action": list(actions),
        "Resource": resources,
    }
    if condition:
        found["Condition"] = condition
    return found


def document(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


class CiIdentity(Construct):
    """Exposes `review_role`, `deploy_roles` (by stage), `boundary` and `oidc_provider`."""

    def __init__(self, scope: Construct, id_: str, props: CiIdentityProps):
        check(props, "CiIdentity")
        super().__init__(scope, id_)
        self.props = props
        self.oidc_provider = IamOpenidConnectProvider(
            self,
            "GitHubOidc",
            url=GITHUB_OIDC_URL,
            client_id_list=[GITHUB_OIDC_AUDIENCE],
        )
        self.boundary = IamPolicy(
            self,
            "PermissionsBoundary",
            name=PERMISSIONS_BOUNDARY,
            description="The most any role a deploy creates (the handlers') may ever do",
            policy=document(self._boundary_statements()),
        )
        self.review_role = self._role(
            "ReviewRole",
            REVIEW_ROLE,
            [
                props.repository.subject("pull_request"),
                props.repository.subject(f"ref:refs/heads/{props.default_branch}"),
            ],
            REVIEW_SESSION_SECONDS,
            self._review_statements(),
        )
        self.deploy_roles = {
            scope_.stage: self._role(
                f"DeployRole-{scope_.stage}",
                f"{DEPLOY_ROLE_PREFIX}{scope_.stage}",
                [props.repository.subject(f"environment:{scope_.stage}")],
                DEPLOY_SESSION_SECONDS,
                self._deploy_statements(scope_),
            )
            for scope_ in props.stages
        }

    @property
    def oidc_provider_arn(self) -> str:
        return f"arn:aws:iam::{self.props.account_id}:oidc-provider/{GITHUB_OIDC_HOST}"

    @property
    def boundary_arn(self) -> str:
        return f"arn:aws:iam::{self.props.account_id}:policy/{PERMISSIONS_BOUNDARY}"

    def _role(
        self,
        id_: str,
        name: str,
        subjects: list[str],
        session_seconds: int,
        statements: list[dict[str, Any]],
    ) -> IamRole:
        """A role GitHub's OIDC tokens for exactly `subjects` may assume (StringEquals: no
        pattern), with its one inline policy. The provider is named by its ARN, as IAM gives
        it (so that checkov's CKV_AWS_358 sees the GitHub trust), and created first."""
        trust = DataAwsIamPolicyDocument(
            self,
            f"{id_}Trust",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    effect="Allow",
                    actions=["sts:AssumeRoleWithWebIdentity"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Federated", identifiers=[self.oidc_provider_arn]
                        )
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable=f"{GITHUB_OIDC_HOST}:aud",
                            values=[GITHUB_OIDC_AUDIENCE],
                        ),
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable=f"{GITHUB_OIDC_HOST}:sub",
                            values=subjects,
                        ),
                    ],
                )
            ],
        )
        role = IamRole(
            self,
            id_,
            name=name,
            assume_role_policy=trust.json,
            max_session_duration=session_seconds,
            depends_on=[self.oidc_provider],
        )
        IamRolePolicy(self, f"{id_}Policy", name=name, role=role.id, policy=document(statements))
        return role

    def _state(self, keys: list[str], write: bool) -> list[dict[str, Any]]:
        bucket = f"arn:aws:s3:::{self.props.state_bucket}"
        actions = (
            ("s3:GetObject", "s3:PutObject", "s3:DeleteObject") if write else ("s3:GetObject",)
        )
        return [
            statement("StateBucket", ("s3:ListBucket",), [bucket]),
            statement("State", actions, [f"{bucket}/{key}" for key in keys]),
        ]

    def _dns(self) -> list[dict[str, Any]]:
        role = self.props.dns_delegation_role_arn
        return [statement("DnsDelegation", ("sts:AssumeRole",), [role])] if role else []

    def _deploy_statements(self, stage: DeployScope) -> list[dict[str, Any]]:
        account = self.props.account_id
        boundary = {"StringEquals": {"iam:PermissionsBoundary": self.boundary_arn}}
        roles = [f"arn:aws:iam::{account}:role/{stage.name}-*"]
        return [
            *[statement(f.sid, f.read + f.write, f.resources(stage, account)) for f in FAMILIES],
            statement("BoundedHandlerRoles", BOUNDED_ROLE_ACTIONS, roles, condition=boundary),
            statement(
                "PassHandlerRoles",
                ("iam:PassRole",),
                roles,
                condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
            ),
            statement("OnEveryResource", DEPLOY_ON_EVERY_RESOURCE + READ_ON_EVERY_RESOURCE, ["*"]),
            # Lock object beside the state (use_lockfile): a deploy takes the lock.
            *self._state([stage.state_key, f"{stage.state_key}.tflock"], write=True),
            *self._dns(),
            statement(
                "KeepTheBoundary",
                ("iam:DeleteRolePermissionsBoundary",),
                ["*"],
                effect="Deny",
            ),
            statement(
                "LeaveTheBootstrapAlone",
                ("iam:*",),
                [
                    self.boundary_arn,
                    f"arn:aws:iam::{account}:role/{REVIEW_ROLE}",
                    f"arn:aws:iam::{account}:role/{DEPLOY_ROLE_PREFIX}*",
                ],
                effect="Deny",
            ),
        ]

    def _review_statements(self) -> list[dict[str, Any]]:
        account = self.props.account_id
        return [
            *[
                statement(
                    f.sid,
                    f.read,
                    [arn for stage in self.props.stages for arn in f.resources(stage, account)],
                )
                for f in FAMILIES
                if f.read
            ],
            statement("OnEveryResource", READ_ON_EVERY_RESOURCE, ["*"]),
            # Review plans run with -lock=false (README, "Review plans"): no lock object.
            *self._state([stage.state_key for stage in self.props.stages], write=False),
            *self._dns(),
            statement("NoDecryptionNoSecrets", REVIEW_DENIED, ["*"], effect="Deny"),
        ]

    def _boundary_statements(self) -> list[dict[str, Any]]:
        account, stages = self.props.account_id, self.props.stages
        tables = [
            f"arn:aws:dynamodb:{s.region}:{account}:table/{s.table_name}{suffix}"
            for s in stages
            for suffix in ("", "/index/*", "/stream/*")
        ]
        return [
            statement("ServiceTables", HANDLER_DATA_ACTIONS, tables),
            statement(
                "ServiceImages",
                HANDLER_OBJECT_ACTIONS,
                [f"arn:aws:s3:::{s.bucket_name}/*" for s in stages],
            ),
            statement(
                "OwnLogs",
                HANDLER_LOG_ACTIONS,
                [
                    f"arn:aws:logs:{s.region}:{account}:log-group:/aws/lambda/{s.name}-*:*"
                    for s in stages
                ],
            ),
            statement("OnEveryResource", HANDLER_ON_EVERY_RESOURCE, ["*"]),
        ]
