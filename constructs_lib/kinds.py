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
    "aws_apigatewayv2_api": (
        "HTTP API: its execute-api endpoint changes, and every configured endpoint using it "
        "would stop working"
    ),
}
