"""The resources of a synthesized stage as IAM sees them: each one's ARN in IAM's catalogue, the
account that owns it and its tags (the provider's default tags and its own).

Each Terraform type is one row: the service and the catalogue's resource type it is, and how
its ARN's variable part is named (an attribute of the configuration, or an id AWS generates,
for which a stand-in is used). A configuration attribute that is a reference to another
resource (`${aws_apigatewayv2_api.X.id}`) stands for that resource's generated id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.policies.iam import Catalogue, Resource

REGION = "us-east-1"


def _id(kind: str, key: str) -> str:
    """A stand-in for an id AWS generates, stable per resource."""
    return f"{kind}{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _ref_id(value: Any, kind: str) -> str:
    """The generated id a reference (`${type.name.id}`) stands for, or the value itself."""
    text = str(value)
    if text.startswith("${"):
        target = text[2:-1].rsplit(".", 1)[0]
        return _id(kind, target)
    return text


Arn = Callable[[str, str, Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class Kind:
    service: str
    resource_type: str
    arns: Arn  # (account, address, body) -> the resource's ARNs (more than one: it and its parts)


def _apigw(path: Callable[[Mapping[str, Any], str], str]) -> Arn:
    return lambda a, k, b: [f"arn:aws:apigateway:{REGION}::/{path(b, k)}"]


def _region_of(config: Mapping[str, Any], body: Mapping[str, Any]) -> str:
    """The region of the provider a resource names (the stage's own by default)."""
    alias = str(body.get("provider", "aws")).removeprefix("aws.")
    for provider in config["provider"]["aws"]:
        if provider.get("alias", "") == ("" if alias == "aws" else alias):
            return str(provider.get("region", REGION))
    return REGION


KINDS: dict[str, Kind] = {
    "aws_dynamodb_table": Kind(
        "dynamodb", "table", lambda a, k, b: [f"arn:aws:dynamodb:{REGION}:{a}:table/{b['name']}"]
    ),
    "aws_s3_bucket": Kind("s3", "bucket", lambda a, k, b: [f"arn:aws:s3:::{b['bucket']}"]),
    "aws_cloudfront_distribution": Kind(
        "cloudfront",
        "distribution",
        lambda a, k, b: [f"arn:aws:cloudfront::{a}:distribution/{_id('E', k)}"],
    ),
    "aws_cloudfront_origin_access_control": Kind(
        "cloudfront",
        "origin-access-control",
        lambda a, k, b: [f"arn:aws:cloudfront::{a}:origin-access-control/{_id('E', k)}"],
    ),
    "aws_cloudfront_origin_access_identity": Kind(
        "cloudfront",
        "origin-access-identity",
        lambda a, k, b: [f"arn:aws:cloudfront::{a}:origin-access-identity/{_id('E', k)}"],
    ),
    "aws_cloudfront_cache_policy": Kind(
        "cloudfront",
        "cache-policy",
        lambda a, k, b: [f"arn:aws:cloudfront::{a}:cache-policy/{_id('c', k)}"],
    ),
    "aws_cloudfront_response_headers_policy": Kind(
        "cloudfront",
        "response-headers-policy",
        lambda a, k, b: [f"arn:aws:cloudfront::{a}:response-headers-policy/{_id('r', k)}"],
    ),
    "aws_apigatewayv2_api": Kind("apigateway", "Api", _apigw(lambda b, k: f"apis/{_id('a', k)}")),
    "aws_apigatewayv2_stage": Kind(
        "apigateway",
        "Stage",
        _apigw(lambda b, k: f"apis/{_ref_id(b['api_id'], 'a')}/stages/{b['name']}"),
    ),
    "aws_apigatewayv2_route": Kind(
        "apigateway",
        "Route",
        _apigw(lambda b, k: f"apis/{_ref_id(b['api_id'], 'a')}/routes/{_id('r', k)}"),
    ),
    "aws_apigatewayv2_authorizer": Kind(
        "apigateway",
        "Authorizer",
        _apigw(lambda b, k: f"apis/{_ref_id(b['api_id'], 'a')}/authorizers/{_id('u', k)}"),
    ),
    "aws_apigatewayv2_integration": Kind(
        "apigateway",
        "Integration",
        _apigw(lambda b, k: f"apis/{_ref_id(b['api_id'], 'a')}/integrations/{_id('i', k)}"),
    ),
    "aws_apigatewayv2_domain_name": Kind(
        "apigateway", "DomainName", _apigw(lambda b, k: f"domainnames/{b['domain_name']}")
    ),
    "aws_apigatewayv2_api_mapping": Kind(
        "apigateway",
        "ApiMapping",
        _apigw(
            lambda b, k: f"domainnames/{_ref_id(b['domain_name'], 'd')}/apimappings/{_id('m', k)}"
        ),
    ),
    "aws_cognito_user_pool": Kind(
        "cognito-idp",
        "userpool",
        lambda a, k, b: [f"arn:aws:cognito-idp:{REGION}:{a}:userpool/{REGION}_{_id('P', k)}"],
    ),
    "aws_acm_certificate": Kind(
        "acm",
        "certificate",
        lambda a, k, b: [f"arn:aws:acm:{REGION}:{a}:certificate/{_id('c', k)}"],
    ),
    "aws_route53_zone": Kind(
        "route53", "hostedzone", lambda a, k, b: [f"arn:aws:route53:::hostedzone/{_id('Z', k)}"]
    ),
    "aws_cloudwatch_log_group": Kind(
        "logs", "log-group", lambda a, k, b: [f"arn:aws:logs:{REGION}:{a}:log-group:{b['name']}"]
    ),
    "aws_sns_topic": Kind(
        "sns", "topic", lambda a, k, b: [f"arn:aws:sns:{REGION}:{a}:{b['name']}"]
    ),
    "aws_kms_key": Kind(
        "kms", "key", lambda a, k, b: [f"arn:aws:kms:{REGION}:{a}:key/{_id('k', k)}"]
    ),
    "aws_cloudwatch_metric_alarm": Kind(
        "cloudwatch",
        "alarm",
        lambda a, k, b: [f"arn:aws:cloudwatch:{REGION}:{a}:alarm:{b['alarm_name']}"],
    ),
    "aws_cloudwatch_dashboard": Kind(
        "cloudwatch",
        "dashboard",
        lambda a, k, b: [f"arn:aws:cloudwatch::{a}:dashboard/{b['dashboard_name']}"],
    ),
    "aws_budgets_budget": Kind(
        "budgets", "budget", lambda a, k, b: [f"arn:aws:budgets::{a}:budget/{b['name']}"]
    ),
    "aws_lambda_function": Kind(
        "lambda",
        "function",
        lambda a, k, b: [f"arn:aws:lambda:{REGION}:{a}:function:{b['function_name']}"],
    ),
    "aws_iam_role": Kind("iam", "role", lambda a, k, b: [f"arn:aws:iam::{a}:role/{b['name']}"]),
    "aws_wafv2_web_acl": Kind(
        "wafv2",
        "webacl",
        lambda a, k, b: [f"arn:aws:wafv2:{REGION}:{a}:global/webacl/{b['name']}/{_id('w', k)}"],
    ),
    "aws_elasticache_replication_group": Kind(
        "elasticache",
        "replicationgroup",
        lambda a, k, b: [
            f"arn:aws:elasticache:{REGION}:{a}:replicationgroup:{b['replication_group_id']}"
        ],
    ),
    "aws_elasticache_subnet_group": Kind(
        "elasticache",
        "subnetgroup",
        lambda a, k, b: [f"arn:aws:elasticache:{REGION}:{a}:subnetgroup:{b['name']}"],
    ),
    "aws_elasticache_user": Kind(
        "elasticache",
        "user",
        lambda a, k, b: [f"arn:aws:elasticache:{REGION}:{a}:user:{b['user_id']}"],
    ),
    "aws_elasticache_user_group": Kind(
        "elasticache",
        "usergroup",
        lambda a, k, b: [f"arn:aws:elasticache:{REGION}:{a}:usergroup:{b['user_group_id']}"],
    ),
    **{
        tf_type: Kind(
            "ec2",
            kind,
            lambda a, k, b, kind=kind: [
                f"arn:aws:ec2:{REGION}:{a}:{kind}/{_id(kind[:3] + '-', k)}"
            ],
        )
        for tf_type, kind in (
            ("aws_vpc", "vpc"),
            ("aws_subnet", "subnet"),
            ("aws_route_table", "route-table"),
            ("aws_vpc_endpoint", "vpc-endpoint"),
            ("aws_security_group", "security-group"),
            ("aws_default_security_group", "security-group"),
            ("aws_flow_log", "vpc-flow-log"),
        )
    },
    "aws_backup_plan": Kind(
        "backup",
        "backupPlan",
        lambda a, k, b: [f"arn:aws:backup:{REGION}:{a}:backup-plan:{_id('p', k)}"],
    ),
}
# Vaults are named, in the region of the provider that creates them (the copy vault's is
# another): filled in by stage_resources, which sees the whole configuration.
VAULT = Kind("backup", "backupVault", lambda a, k, b: [])
# Types that are settings of another resource, not resources of their own in IAM: the bucket's
# configuration, the zone's records, a topic's policy, a pool's client, a function's
# permission, a role's inline policy, ... (their actions act on the resource they belong to,
# which the table lists).
PARTS = {
    "aws_s3_bucket_cors_configuration",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning",
    "aws_route53_record",
    "aws_acm_certificate_validation",
    "aws_sns_topic_policy",
    "aws_sns_topic_subscription",
    "aws_cognito_user_pool_client",
    "aws_lambda_permission",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_route_table_association",
    "aws_security_group_rule",
    "aws_wafv2_web_acl_logging_configuration",
    "aws_cloudwatch_log_delivery",
    "aws_cloudwatch_log_delivery_destination",
    "aws_cloudwatch_log_delivery_source",
    "terraform_data",
    "aws_backup_vault_lock_configuration",
    "aws_backup_selection",
}


def _tags(config: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, str]:
    providers = {p.get("alias", ""): p for p in config["provider"]["aws"]}
    alias = str(body.get("provider", "aws")).removeprefix("aws.")
    provider = providers.get("" if alias == "aws" else alias, providers[""])
    tags = dict(provider["default_tags"][0]["tags"])
    tags.update(body.get("tags") or {})
    return tags


def stage_resources(
    catalogue: Catalogue, config: Mapping[str, Any], account: str
) -> list[tuple[str, Resource]]:
    """(Terraform address, the resource as IAM sees it) for every resource of the stage, and its
    bucket's objects (the images)."""
    found = []
    unknown = []
    for tf_type, resources in sorted(config.get("resource", {}).items()):
        if tf_type in PARTS:
            continue
        if tf_type not in KINDS and tf_type != "aws_backup_vault":
            unknown.append(tf_type)
            continue
        kind = KINDS.get(tf_type, VAULT)
        for key, body in resources.items():
            arns = kind.arns(account, f"{tf_type}.{key}", body) or [
                f"arn:aws:backup:{_region_of(config, body)}:{account}:backup-vault:{body['name']}"
            ]
            for arn in arns:
                assert catalogue.type_of(kind.service, arn) == kind.resource_type, arn
                resource = Resource(
                    arn, account, _tags(config, body), kind.service, kind.resource_type
                )
                found.append((f"{tf_type}.{key}", resource))
                if tf_type == "aws_s3_bucket":
                    objects = Resource(f"{arn}/images/1.png", account, {}, "s3", "object")
                    found.append((f"{tf_type}.{key} objects", objects))
    assert not unknown, f"types with no row in tests/policies/stage_resources.py: {unknown}"
    return found
