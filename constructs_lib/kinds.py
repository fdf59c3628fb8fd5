"""Names shared by the settings, the constructs, the policy and the plan guard, importable
without loading cdktf: the kinds of origin access and cache policy a CDN can use, and the
Terraform resource types that hold data."""

from __future__ import annotations

from typing import Literal, get_args

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
