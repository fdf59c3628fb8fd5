"""What the CDN costs a month (constructs_lib/billing.py): transfer out and HTTPS requests,
priced worldwide at North America's rates (its always-free tier named, not applied). Its
access logs are charged at their log group (ci_identity)."""

from __future__ import annotations

from constructs_lib.billing import Pricer, UsageKey, free, from_usage

USAGE = {
    "cdn.transfer_gb": UsageKey(200.0, "GB of images served a month"),
    "cdn.requests_10k": UsageKey(500.0, "ten-thousands of HTTPS requests a month (5 million)"),
}

BILLING: dict[str, Pricer] = {
    "aws_cloudfront_distribution": from_usage(
        ("cloudfront.transfer-gb", "cdn.transfer_gb"),
        ("cloudfront.https-10k", "cdn.requests_10k"),
    ),
    **free(
        "aws_cloudfront_origin_access_control",
        "aws_cloudfront_origin_access_identity",
        "aws_cloudfront_cache_policy",
        "aws_cloudfront_response_headers_policy",
        "aws_cloudwatch_log_delivery",
        "aws_cloudwatch_log_delivery_destination",
        "aws_cloudwatch_log_delivery_source",
    ),
}
