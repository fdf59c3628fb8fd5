"""The CDN's deploy and review permissions (the distribution, its origin access, policies and
standard logs)."""

from __future__ import annotations

from constructs_lib.concern import Family

FAMILIES = (
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
)
