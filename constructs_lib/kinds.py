"""Names shared by the settings, the constructs, the policy and the plan guard, importable
without loading cdktf: the kinds of origin access and cache policy a CDN can use, and the
Terraform resource types that hold data."""

from __future__ import annotations

from typing import Literal, get_args

# CloudFront's control plane: it takes certificates only from this region, delivers its
# standard logs (v2) only from here, and publishes its metrics only here.
CLOUDFRONT_REGION = "us-east-1"

OriginAccess = Literal["OAC", "OAI"]
CachePolicyKind = Literal["custom", "managed-caching-optimized"]
ORIGIN_ACCESS_MODES: tuple[str, ...] = get_args(OriginAccess)
CACHE_POLICY_KINDS: tuple[str, ...] = get_args(CachePolicyKind)

# Resource types whose deletion loses data that Terraform cannot recreate, with what they hold.
STATEFUL_TYPES = {
    "aws_dynamodb_table": "metadata table",
    "aws_s3_bucket": "bucket (images or Terraform state)",
    "aws_cognito_user_pool": "user pool (user accounts)",
}
# Resource types whose replacement loses no data but breaks everyone who holds their identity:
# a new app client id voids every issued token and every frontend's configured client id; a
# new distribution or API gets a new public domain name. The plan guard refuses their
# replacement like data loss, in its own words.
IDENTITY_TYPES = {
    "aws_cognito_user_pool_client": (
        "app client: every issued token and every frontend's configured client id would stop "
        "working"
    ),
    "aws_cloudfront_distribution": (
        "CDN distribution: its *.cloudfront.net name changes, and every configured endpoint "
        "using it would stop working"
    ),
    "aws_sns_topic": (
        "alarm topic: every subscription (the on-call's email, the incident tool's webhook) is "
        "lost with it and must be confirmed again"
    ),
    "aws_route53_zone": (
        "hosted zone: a new zone gets new name servers, and resolvers keep asking the old ones "
        "for up to the delegation's TTL (2 days): the stage's names stop resolving"
    ),
    "aws_apigatewayv2_api": (
        "HTTP API: its execute-api endpoint changes, and every configured endpoint using it "
        "would stop working"
    ),
}

# Resource types whose replacement is an outage of the service: no data of record is lost, but
# what runs on them stops until the new one is up, and a new cache starts empty. The plan guard
# refuses their replacement in its own words.
OUTAGE_TYPES = {
    "aws_elasticache_replication_group": (
        "cache: every handler's connections drop while a new one is created (10-20 minutes), "
        "and it starts empty, so every read goes to the table until it fills"
    ),
    "aws_elasticache_subnet_group": (
        "cache subnet group: the cache is replaced with it (every connection drops, and the "
        "new cache starts empty)"
    ),
    "aws_vpc": (
        "VPC: its subnets, security groups, the cache and every handler placed in it are "
        "replaced with it; the handlers cannot reach the cache until all are re-created"
    ),
}

# The longest Terraform may wait for AWS on any one resource (certificate validation, a
# distribution's deployment, a custom domain, a table): the provider's own defaults go up to 75
# minutes (aws_acm_certificate_validation), past the deploy job's timeout and its role session.
# The three numbers, each inside the next (docs/first-deploy.md, "Bounded waits"): this wait
# (20 min) < the deploy job's timeout-minutes (60, .github/workflows/deploy-stage.yml) < the deploy
# role's session (90 min: DEPLOY_SESSION_SECONDS, constructs_lib/ci_identity/props.py), so a
# stuck wait fails the apply with the provider's own message while the job can still release
# the state lock and report it.
WAIT_TIMEOUT_MINUTES = 20
WAIT_TIMEOUT = f"{WAIT_TIMEOUT_MINUTES}m"

# The actions AWS authorizes on no resource (the Service Authorization Reference lists no
# resource type for them, or only "*"), each with why this service needs it. An Allow statement
# may name the resource "*" only if every action in it is here (stacks/policies.py,
# iam-no-wildcards): the CI identity's roles and boundary (constructs_lib/ci_identity/).
_LOG_DELIVERY = (
    "API Gateway's access logs and CloudFront's standard logs are vended-log deliveries, whose "
    "set-up actions authorize on no resource (CloudWatch Logs' docs, 'Enabling logging from "
    "AWS services')"
)
_NETWORK_INTERFACES = (
    "a handler in a VPC: Lambda creates, describes and deletes the function's network "
    "interfaces with its role, actions EC2 authorizes only on every resource (Lambda's docs, "
    "'Giving Lambda functions access to resources in an Amazon VPC'; AWS's managed "
    "AWSLambdaVPCAccessExecutionRole grants exactly these on '*')"
)
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
# What the network's flow-log role does in its log group (VPC Flow Logs' docs, "IAM role for
# publishing flow logs to CloudWatch Logs"; the group exists, so no CreateLogGroup).
FLOW_LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams")
# EC2's Describe actions: the deploy and review roles read the network with them (and Lambda
# checks a function's subnets and groups with them when the deploy role creates it).
EC2_DESCRIBE_ACTIONS = (
    "ec2:DescribeVpcs",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeSubnets",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribePrefixLists",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNatGateways",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeAddresses",
    "ec2:DescribeAddressesAttribute",
    "ec2:DescribeFlowLogs",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeAvailabilityZones",
)
_EC2_DESCRIBE = "EC2's Describe actions authorize on no resource (they list what exists)"
ACTIONS_ON_EVERY_RESOURCE = {
    "cognito-idp:CreateUserPool": "a user pool's ARN does not exist before it is created",
    "acm:RequestCertificate": "a certificate's ARN does not exist before it is requested",
    "route53:CreateHostedZone": "a zone's id does not exist before it is created",
    "route53:ListHostedZones": "the parent zone is found by listing zones",
    "route53:ListHostedZonesByName": "the parent zone is found by listing zones by name",
    "logs:DescribeLogGroups": "CloudWatch Logs lists log groups on no resource",
    "logs:CreateLogDelivery": _LOG_DELIVERY,
    "logs:GetLogDelivery": _LOG_DELIVERY,
    "logs:UpdateLogDelivery": _LOG_DELIVERY,
    "logs:DeleteLogDelivery": _LOG_DELIVERY,
    "logs:ListLogDeliveries": _LOG_DELIVERY,
    "logs:PutResourcePolicy": _LOG_DELIVERY,
    "logs:DescribeResourcePolicies": _LOG_DELIVERY,
    "xray:PutTraceSegments": "X-Ray's write actions have no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray's write actions have no resource-level permissions",
    "kms:CreateKey": "a key's ARN does not exist before it is created",
    **{
        f"cloudfront:{action}": "a CloudFront distribution's, origin access control's, origin "
        "access identity's, cache or response-headers policy's id does not exist before it is "
        "created"
        for action in (
            "CreateDistribution",
            "CreateOriginAccessControl",
            "CreateCloudFrontOriginAccessIdentity",
            "CreateCachePolicy",
            "CreateResponseHeadersPolicy",
        )
    },
    "tag:GetResources": "the tagging API lists resources by their tags on no resource (the "
    "nightly clean-up finds derived stages by their CreatedOn tag)",
    **{
        action: "an SNS subscription's own actions authorize on no resource type (the Service "
        "Authorization Reference's SNS table lists none for them, so IAM matches them only "
        "against '*')"
        for action in (
            "sns:GetSubscriptionAttributes",
            "sns:SetSubscriptionAttributes",
            "sns:Unsubscribe",
        )
    },
    **{action: _EC2_DESCRIBE for action in EC2_DESCRIBE_ACTIONS},
    **{action: _NETWORK_INTERFACES for action in LAMBDA_VPC_ACCESS_ACTIONS},
}

# The context key through which a stack gives every role created in it the account's
# permissions boundary (as AWS CDK's `@aws-cdk/core:permissionsBoundary`): ImageHandler reads it
# when its props name none; ImageServiceStack sets it from the stage's account.
PERMISSIONS_BOUNDARY_CONTEXT = "image-service:permissionsBoundary"
