"""What the image bucket costs a month (constructs_lib/billing.py): storage and requests, and
the old versions a versioned bucket keeps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from constructs_lib.billing import Charge, Pricer, Usage, UsageKey, blocks, free

USAGE = {
    "bucket.stored_gb": UsageKey(20.0, "GB of current images stored"),
    "bucket.noncurrent_gb": UsageKey(2.0, "GB of overwritten or deleted images kept as versions"),
    "bucket.puts_thousands": UsageKey(20.0, "thousand uploads (PUT, COPY, POST, LIST) a month"),
    "bucket.gets_thousands": UsageKey(100.0, "thousand GETs a month (the CDN's misses)"),
}


def _bucket(_body: Mapping[str, Any], usage: Usage) -> list[Charge]:
    return [
        Charge("s3.standard-gb", usage("bucket.stored_gb"), "usage bucket.stored_gb"),
        Charge("s3.put-thousand", usage("bucket.puts_thousands"), "usage bucket.puts_thousands"),
        Charge("s3.get-thousand", usage("bucket.gets_thousands"), "usage bucket.gets_thousands"),
    ]


def _versioning(body: Mapping[str, Any], usage: Usage) -> list[Charge]:
    enabled = any(b.get("status") == "Enabled" for b in blocks(body, "versioning_configuration"))
    if not enabled:
        return []
    return [Charge("s3.standard-gb", usage("bucket.noncurrent_gb"), "versions kept")]


BILLING: dict[str, Pricer] = {
    "aws_s3_bucket": _bucket,
    "aws_s3_bucket_versioning": _versioning,
    **free(
        "aws_s3_bucket_cors_configuration",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
    ),
}
