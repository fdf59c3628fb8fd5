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
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from constructs_lib.ci_identity.props import (
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
from constructs_lib.kinds import EC2_DESCRIBE_ACTIONS, FLOW_LOG_ACTIONS, LAMBDA_VPC_ACCESS_ACTIONS
from constructs_lib.validation import check

Resources = Callable[[DeployScope, str], list[str]]


@dataclass(frozen=True)
class Family:
    """One kind of resource of a stage: its ARNs, what reads it and what changes it, and the
    Terraform resource types it covers (tests/constructs/test_ci_identity.py: every type a
    stage synthesizes is covered by a family, so a new concern cannot ship without its deploy
    permissions)."""

    sid: str
    resources: Resources
    read: tuple[str, ...]
    write: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    #: The optional concern it belongs to (OPTIONAL_CONCERNS); None: every stage has it.
    concern: str | None = None
    #: What deploying it calls that AWS authorizes on no resource ("*"), reads and writes
    #: (each action's reason: ACTIONS_ON_EVERY_RESOURCE, constructs_lib/kinds.py).
    read_anywhere: tuple[str, ...] = ()
    write_anywhere: tuple[str, ...] = ()
    #: The condition its statement carries, from the role's scopes. Default: none.
    condition: Callable[[list[DeployScope]], dict[str, Any]] | None = None


def _log_groups(s: DeployScope, account: str) -> list[str]:
    prefix = f"arn:aws:logs:*:{account}:log-group:"
    return [
        f"{prefix}/aws/apigateway/{s.name}/*",
        f"{prefix}/aws/cloudfront/{s.name}",
        f"{prefix}/aws/cloudfront/{s.name}:*",
        f"{prefix}/aws/lambda/{s.name}-*",
        f"{prefix}/aws/vpc/{s.name}",
        f"{prefix}/aws/vpc/{s.name}:*",
        f"{prefix}aws-waf-logs-{s.name}-*",
    ]


def _ec2(kinds: tuple[str, ...]) -> Resources:
    return lambda s, a: [f"arn:aws:ec2:{s.region}:{a}:{kind}/*" for kind in kinds]


# The network's resources have generated ids: the account's, in the stage's region.
_NETWORK_KINDS = (
    "vpc",
    "subnet",
    "route-table",
    "security-group",
    "security-group-rule",
    "vpc-endpoint",
    "internet-gateway",
    "natgateway",
    "elastic-ip",
    "vpc-flow-log",
    "network-interface",
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
        types=(
            "aws_s3_bucket",
            "aws_s3_bucket_cors_configuration",
            "aws_s3_bucket_lifecycle_configuration",
            "aws_s3_bucket_ownership_controls",
            "aws_s3_bucket_policy",
            "aws_s3_bucket_public_access_block",
            "aws_s3_bucket_server_side_encryption_configuration",
            "aws_s3_bucket_versioning",
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
            "cloudfront:UpdateDistribution",
            "cloudfront:DeleteDistribution",
            "cloudfront:UpdateOriginAccessControl",
            "cloudfront:DeleteOriginAccessControl",
            "cloudfront:UpdateCloudFrontOriginAccessIdentity",
            "cloudfront:DeleteCloudFrontOriginAccessIdentity",
            "cloudfront:UpdateCachePolicy",
            "cloudfront:DeleteCachePolicy",
            "cloudfront:UpdateResponseHeadersPolicy",
            "cloudfront:DeleteResponseHeadersPolicy",
            "cloudfront:TagResource",
            "cloudfront:UntagResource",
            # Standard logging v2: the distribution as a vended-log delivery source.
            "cloudfront:AllowVendedLogDeliveryForResource",
        ),
        types=(
            "aws_cloudfront_distribution",
            "aws_cloudfront_origin_access_control",
            "aws_cloudfront_origin_access_identity",
            "aws_cloudfront_cache_policy",
            "aws_cloudfront_response_headers_policy",
        ),
        # Their ids do not exist before they are created: IAM authorizes the creates on none.
        write_anywhere=(
            "cloudfront:CreateDistribution",
            "cloudfront:CreateOriginAccessControl",
            "cloudfront:CreateCloudFrontOriginAccessIdentity",
            "cloudfront:CreateCachePolicy",
            "cloudfront:CreateResponseHeadersPolicy",
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
        types=(
            "aws_apigatewayv2_api",
            "aws_apigatewayv2_api_mapping",
            "aws_apigatewayv2_authorizer",
            "aws_apigatewayv2_domain_name",
            "aws_apigatewayv2_integration",
            "aws_apigatewayv2_route",
            "aws_apigatewayv2_stage",
        ),
        # The stage's access logs are a vended-log delivery (API Gateway's docs, "Configure
        # logging for HTTP APIs": the permissions to set one up), whose set-up actions
        # authorize on no resource; CloudFront's standard logs (cdn_logs) use them too.
        read_anywhere=(
            "logs:GetLogDelivery",
            "logs:ListLogDeliveries",
            "logs:DescribeResourcePolicies",
        ),
        write_anywhere=(
            "logs:CreateLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:PutResourcePolicy",
        ),
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
        types=("aws_cognito_user_pool", "aws_cognito_user_pool_client"),
        write_anywhere=("cognito-idp:CreateUserPool",),
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
        types=("aws_acm_certificate", "aws_acm_certificate_validation"),
        concern="domains",
        write_anywhere=("acm:RequestCertificate",),
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
        write=("route53:DeleteHostedZone", "route53:ChangeTagsForResource"),
        types=("aws_route53_zone",),
        concern="domains",
        read_anywhere=("route53:ListHostedZones", "route53:ListHostedZonesByName"),
        write_anywhere=("route53:CreateHostedZone",),
    ),
    # Records only of the stage's own names (its zone and below): Route53 authorizes a change on
    # the zone, and conditions it on every record the change names (Route53's docs, "Using IAM
    # policy conditions for fine-grained access control to manage resource record sets").
    Family(
        "ZoneRecords",
        lambda s, a: ["arn:aws:route53:::hostedzone/*"],
        read=(),
        write=("route53:ChangeResourceRecordSets",),
        types=("aws_route53_record",),
        concern="domains",
        condition=lambda scopes: {
            "ForAllValues:StringLike": {
                RECORD_NAMES_KEY: sorted({n for s in scopes for n in s.record_names})
            },
            "Null": {RECORD_NAMES_KEY: "false"},
        },
    ),
    Family(
        "ZoneChanges",
        lambda s, a: ["arn:aws:route53:::change/*"],
        read=("route53:GetChange",),
        concern="domains",
    ),
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
        types=(
            "aws_cloudwatch_log_delivery",
            "aws_cloudwatch_log_delivery_destination",
            "aws_cloudwatch_log_delivery_source",
        ),
        concern="cdn_logs",
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
        types=("aws_lambda_function", "aws_lambda_permission"),
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
        types=("aws_iam_role", "aws_iam_role_policy"),
    ),
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
    # CloudFront's web ACL (us-east-1) and AWS's managed rule groups it uses.
    Family(
        "WebAcl",
        lambda s, a: [
            f"arn:aws:wafv2:us-east-1:{a}:global/webacl/{s.name}-*/*",
            "arn:aws:wafv2:us-east-1:*:global/managedruleset/*/*",
        ],
        read=("wafv2:GetWebACL", "wafv2:GetLoggingConfiguration", "wafv2:ListTagsForResource"),
        write=(
            "wafv2:CreateWebACL",
            "wafv2:UpdateWebACL",
            "wafv2:DeleteWebACL",
            "wafv2:PutLoggingConfiguration",
            "wafv2:DeleteLoggingConfiguration",
            "wafv2:TagResource",
            "wafv2:UntagResource",
        ),
        types=("aws_wafv2_web_acl", "aws_wafv2_web_acl_logging_configuration"),
        concern="waf",
    ),
    # The private network: generated ids, so the account's network resources in the region
    # (reading them is EC2's Describe*, which authorizes on no resource: READ_ON_EVERY_RESOURCE).
    Family(
        "Network",
        _ec2(_NETWORK_KINDS),
        read=(),
        write=(
            "ec2:CreateVpc",
            "ec2:DeleteVpc",
            "ec2:ModifyVpcAttribute",
            "ec2:CreateSubnet",
            "ec2:DeleteSubnet",
            "ec2:ModifySubnetAttribute",
            "ec2:CreateRouteTable",
            "ec2:DeleteRouteTable",
            "ec2:AssociateRouteTable",
            "ec2:DisassociateRouteTable",
            "ec2:CreateRoute",
            "ec2:DeleteRoute",
            "ec2:CreateVpcEndpoint",
            "ec2:ModifyVpcEndpoint",
            "ec2:DeleteVpcEndpoints",
            "ec2:CreateSecurityGroup",
            "ec2:DeleteSecurityGroup",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
            "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
            "ec2:CreateInternetGateway",
            "ec2:AttachInternetGateway",
            "ec2:DetachInternetGateway",
            "ec2:DeleteInternetGateway",
            "ec2:AllocateAddress",
            "ec2:ReleaseAddress",
            "ec2:DisassociateAddress",
            "ec2:CreateNatGateway",
            "ec2:DeleteNatGateway",
            "ec2:CreateFlowLogs",
            "ec2:DeleteFlowLogs",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ),
        types=(
            "aws_vpc",
            "aws_default_security_group",
            "aws_subnet",
            "aws_route_table",
            "aws_route_table_association",
            "aws_route",
            "aws_vpc_endpoint",
            "aws_security_group",
            "aws_security_group_rule",
            "aws_internet_gateway",
            "aws_eip",
            "aws_nat_gateway",
            "aws_flow_log",
        ),
        concern="network",
        read_anywhere=EC2_DESCRIBE_ACTIONS,
    ),
    # Lambda's network interfaces in the stage's subnets: the provider detaches and deletes the
    # ones Lambda leaves behind before a security group or subnet goes (its ec2 service,
    # deleteLingeringENIs), else destroying or replacing the network fails once handlers joined
    # it. DetachNetworkInterface authorizes on the interface and the instance it is attached to.
    Family(
        "LingeringInterfaces",
        _ec2(("network-interface", "instance")),
        read=(),
        write=("ec2:DetachNetworkInterface", "ec2:DeleteNetworkInterface"),
        concern="network",
    ),
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
)
# Resource types that need no permission of their own: Terraform-side only.
NO_PERMISSIONS_NEEDED = ("terraform_data",)
# The services that assume roles the deploy role passes: Lambda (the handlers') and VPC Flow
# Logs (the network's flow-log role).
PASSED_TO_SERVICES = ("lambda.amazonaws.com", "vpc-flow-logs.amazonaws.com")
# ElastiCache creates its service-linked role on an account's first cache; the deploy role may
# create exactly that role (IAM's docs, "Service-linked role permissions").
CACHE_SERVICE_LINKED_ROLE = (
    "arn:aws:iam::{account}:role/aws-service-role/elasticache.amazonaws.com/"
    "AWSServiceRoleForElastiCache"
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
# What every role reads on no resource besides its families': the tagging API (the nightly
# clean-up finds derived stages by their tags).
READ_ON_EVERY_RESOURCE = ("tag:GetResources",)
RECORD_NAMES_KEY = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
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
)
HANDLER_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
HANDLER_LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
HANDLER_ON_EVERY_RESOURCE = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    *LAMBDA_VPC_ACCESS_ACTIONS,
    # The network's flow-log role finds its log group.
    "logs:DescribeLogGroups",
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


# IAM's limits on policy size, in characters without whitespace: a role's inline policies
# together, and each customer managed policy (IAM's docs, "IAM and AWS STS quotas").
INLINE_POLICY_LIMIT = 10_240
MANAGED_POLICY_LIMIT = 6_144
# Each document is filled to this share of its limit at most: the next family, or a longer
# account's ARNs, then fit without a new policy at bootstrap (tests/constructs/
# test_ci_identity.py holds every policy to it).
FILL = 0.9


def pack(statements: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The statements in documents that fit IAM's limits with room to spare (FILL), in order:
    the first the role's inline policy, each next one a managed policy."""
    documents: list[list[dict[str, Any]]] = [[]]
    for statement in statements:
        limit = FILL * (INLINE_POLICY_LIMIT if len(documents) == 1 else MANAGED_POLICY_LIMIT)
        if documents[-1] and len(document([*documents[-1], statement])) > limit:
            documents.append([])
        documents[-1].append(statement)
    return documents


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
        # A role per GitHub environment; several scopes may share one (the preview role's).
        scopes: dict[str, list[DeployScope]] = {}
        for scope_ in props.stages:
            scopes.setdefault(scope_.stage, []).append(scope_)
        self.deploy_roles = {
            stage: self._role(
                f"DeployRole-{stage}",
                f"{DEPLOY_ROLE_PREFIX}{stage}",
                [props.repository.subject(f"environment:{stage}")],
                DEPLOY_SESSION_SECONDS,
                self._deploy_statements(of_stage),
            )
            for stage, of_stage in scopes.items()
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
        # One inline policy, and what does not fit IAM's limit in managed policies of its own.
        inline, *more = pack(statements)
        IamRolePolicy(self, f"{id_}Policy", name=name, role=role.id, policy=document(inline))
        for n, part in enumerate(more, start=2):
            managed = IamPolicy(self, f"{id_}Policy{n}", name=f"{name}-{n}", policy=document(part))
            IamRolePolicyAttachment(
                self, f"{id_}Policy{n}Attachment", role=role.name, policy_arn=managed.arn
            )
        return role

    def _state(self, keys: list[str], write: bool) -> list[dict[str, Any]]:
        bucket = f"arn:aws:s3:::{self.props.state_bucket}"
        # A disposable stage's destroy removes every version of its state object.
        actions = (
            ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion")
            if write
            else ("s3:GetObject",)
        )
        return [
            statement("StateBucket", ("s3:ListBucket", "s3:ListBucketVersions"), [bucket]),
            statement("State", actions, [f"{bucket}/{key}" for key in keys]),
        ]

    def _families(self, scopes: list[DeployScope]) -> list[Family]:
        """The families any of `scopes` may have (a derived stage has no network, ...)."""
        return [f for f in FAMILIES if any(s.may_have(f.concern) for s in scopes)]

    def _resources(self, family: Family, scopes: list[DeployScope]) -> list[str]:
        account = self.props.account_id
        return list(
            dict.fromkeys(
                arn
                for s in scopes
                if s.may_have(family.concern)
                for arn in family.resources(s, account)
            )
        )

    def _deploy_statements(self, scopes: list[DeployScope]) -> list[dict[str, Any]]:
        account = self.props.account_id
        boundary = {"StringEquals": {"iam:PermissionsBoundary": self.boundary_arn}}
        roles = [f"arn:aws:iam::{account}:role/{s.name}-*" for s in scopes]
        keys = [key for s in scopes for key in (s.state_key, f"{s.state_key}.tflock")]
        families = self._families(scopes)
        anywhere = sorted(
            {a for f in families for a in f.read_anywhere + f.write_anywhere}
            | set(READ_ON_EVERY_RESOURCE)
        )
        cache = any(s.may_have("cache") for s in scopes)
        writers = sorted({s.dns_role_arn for s in scopes if s.dns_role_arn})
        return [
            *[
                statement(
                    f.sid,
                    f.read + f.write,
                    self._resources(f, scopes),
                    condition=f.condition(scopes) if f.condition else None,
                )
                for f in families
            ],
            statement("BoundedHandlerRoles", BOUNDED_ROLE_ACTIONS, roles, condition=boundary),
            statement(
                "PassStageRoles",
                ("iam:PassRole",),
                roles,
                condition={"StringEquals": {"iam:PassedToService": list(PASSED_TO_SERVICES)}},
            ),
            *(
                [
                    statement(
                        "CacheServiceLinkedRole",
                        ("iam:CreateServiceLinkedRole",),
                        [CACHE_SERVICE_LINKED_ROLE.format(account=account)],
                        condition={
                            "StringEquals": {"iam:AWSServiceName": "elasticache.amazonaws.com"}
                        },
                    )
                ]
                if cache
                else []
            ),
            statement("OnEveryResource", anywhere, ["*"]),
            # Lock object beside the state (use_lockfile): a deploy takes the lock.
            *self._state(keys, write=True),
            # Its own stage's NS record in the parent zone, through that stage's writer only.
            *([statement("DnsDelegation", ("sts:AssumeRole",), writers)] if writers else []),
            *self._guards(),
        ]

    def _guards(self) -> list[dict[str, Any]]:
        """What a deploy role may never do: drop a role's boundary, or touch the bootstrap's
        own roles, boundary and policies."""
        account = self.props.account_id
        return [
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
                    # The CI roles' own managed policies (what did not fit inline).
                    f"arn:aws:iam::{account}:policy/{REVIEW_ROLE}-*",
                    f"arn:aws:iam::{account}:policy/{DEPLOY_ROLE_PREFIX}*",
                ],
                effect="Deny",
            ),
        ]

    def _review_statements(self) -> list[dict[str, Any]]:
        scopes = list(self.props.stages)
        families = self._families(scopes)
        anywhere = sorted(
            {a for f in families for a in f.read_anywhere} | set(READ_ON_EVERY_RESOURCE)
        )
        reader = self.props.dns_read_role_arn
        return [
            *[statement(f.sid, f.read, self._resources(f, scopes)) for f in families if f.read],
            statement("OnEveryResource", anywhere, ["*"]),
            # Review plans run with -lock=false, so no lock object (docs/commands.md,
            # "Review, drift and the pipeline").
            *self._state([stage.state_key for stage in scopes], write=False),
            # The parent zone, read through the DNS account's reader (which writes nothing).
            *([statement("DnsRead", ("sts:AssumeRole",), [reader])] if reader else []),
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
            statement(
                "ServiceCache",
                ("elasticache:Connect",),
                [
                    f"arn:aws:elasticache:{s.region}:{account}:{kind}"
                    for s in stages
                    for kind in (f"replicationgroup:{s.name}", f"user:{s.name}-app")
                ],
            ),
            statement(
                "NetworkFlowLogs",
                FLOW_LOG_ACTIONS,
                [
                    f"arn:aws:logs:{s.region}:{account}:log-group:/aws/vpc/{s.name}:*"
                    for s in stages
                ],
            ),
            statement("OnEveryResource", HANDLER_ON_EVERY_RESOURCE, ["*"]),
        ]
