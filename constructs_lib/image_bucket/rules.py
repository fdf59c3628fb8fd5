"""The organisation's rules for buckets: every bucket blocks public access, is encrypted by
default, enforces bucket-owner object ownership and denies requests not made over TLS; a bucket
of protected data cannot be emptied by Terraform (force_destroy)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from constructs_lib.concern import PREVENT_DESTROY
from constructs_lib.stack_json import (
    Config,
    Resource,
    RuleContext,
    Rules,
    Violation,
    blocks,
    companions,
    policy_statements,
    resources,
)

SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
PAB_FLAGS = (
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
)
BUCKET_PUBLIC_ACCESS_BLOCK = "bucket-public-access-block"
BUCKET_ENCRYPTION = "bucket-encryption"
BUCKET_OWNERSHIP_ENFORCED = "bucket-ownership-enforced"
BUCKET_DENY_INSECURE_TRANSPORT = "bucket-deny-insecure-transport"


def _to_everyone(statement: dict[str, Any]) -> bool:
    return any(
        p.get("type") in ("*", "AWS") and "*" in (p.get("identifiers") or [])
        for p in blocks(statement.get("principals"))
    )


def _when_insecure(statement: dict[str, Any]) -> bool:
    return any(
        c.get("test") == "Bool"
        and c.get("variable", "").lower() == "aws:securetransport"
        and [str(v).lower() for v in c.get("values") or []] == ["false"]
        for c in blocks(statement.get("condition"))
    )


def _covers_bucket_and_objects(statement: dict[str, Any], bucket: Resource) -> bool:
    arn = f"${{{bucket.type}.{bucket.name}.arn}}"
    literal = f"arn:aws:s3:::{bucket.body.get('bucket')}"
    named = set(statement.get("resources") or [])
    return "*" in named or ({arn, arn + "/*"} <= named) or ({literal, literal + "/*"} <= named)


def _denies_insecure_transport(statement: dict[str, Any], bucket: Resource) -> bool:
    return (
        statement.get("effect") == "Deny"
        and _to_everyone(statement)
        and _when_insecure(statement)
        and _covers_bucket_and_objects(statement, bucket)
        and any(a in ("s3:*", "*") for a in statement.get("actions") or [])
    )


_Finding = tuple[str, str, str]  # (rule, problem, fix)


def _public_access_block(config: Config, bucket: Resource) -> _Finding | None:
    blocks = companions(config, "aws_s3_bucket_public_access_block", bucket)
    if any(all(b.get(flag) is True for flag in PAB_FLAGS) for b in blocks):
        return None
    missing = sorted(
        {f for b in blocks for f in PAB_FLAGS if b.get(f) is not True} or set(PAB_FLAGS)
    )
    return (
        BUCKET_PUBLIC_ACCESS_BLOCK,
        f"has no public access block with all four flags true (not true: {', '.join(missing)})",
        "harden the bucket with constructs_lib.image_bucket.security.BucketSecurity",
    )


def _default_encryption(config: Config, bucket: Resource) -> _Finding | None:
    sse = [
        d.get("sse_algorithm")
        for c in companions(config, "aws_s3_bucket_server_side_encryption_configuration", bucket)
        for r in blocks(c.get("rule"))
        for d in blocks(r.get("apply_server_side_encryption_by_default"))
    ]
    if any(alg in SSE_ALGORITHMS for alg in sse):
        return None
    return (
        BUCKET_ENCRYPTION,
        f"has no default server-side encryption ({' or '.join(SSE_ALGORITHMS)})",
        "add an aws_s3_bucket_server_side_encryption_configuration (BucketSecurity does)",
    )


def _owner_enforced(config: Config, bucket: Resource) -> _Finding | None:
    owners = [
        r.get("object_ownership")
        for c in companions(config, "aws_s3_bucket_ownership_controls", bucket)
        for r in blocks(c.get("rule"))
    ]
    if "BucketOwnerEnforced" in owners:
        return None
    return (
        BUCKET_OWNERSHIP_ENFORCED,
        f"does not enforce bucket-owner object ownership (found {owners or 'none'})",
        "add ownership controls with object_ownership=BucketOwnerEnforced (BucketSecurity does)",
    )


def _insecure_transport_denied(config: Config, bucket: Resource) -> _Finding | None:
    statements = [
        st
        for p in companions(config, "aws_s3_bucket_policy", bucket)
        for st in policy_statements(config, p.get("policy"))
    ]
    if any(_denies_insecure_transport(st, bucket) for st in statements):
        return None
    return (
        BUCKET_DENY_INSECURE_TRANSPORT,
        "has no bucket policy denying s3:* to everyone when "
        "aws:SecureTransport is false, on the bucket and its objects",
        "keep the DenyInsecureTransport statement of BucketSecurity",
    )


_BUCKET_CHECKS = (
    _public_access_block,
    _default_encryption,
    _owner_enforced,
    _insecure_transport_denied,
)


def _check_buckets(config: Config) -> Iterator[Violation]:
    for bucket in resources(config, "aws_s3_bucket"):
        for check in _BUCKET_CHECKS:
            finding = check(config, bucket)
            if finding:
                yield Violation(bucket.path, bucket.address, *finding)


def _check_force_destroy(config: Config, protected: bool) -> Iterator[Violation]:
    if not protected:
        return
    for bucket in resources(config, "aws_s3_bucket"):
        lifecycle = bucket.body.get("lifecycle", {})
        if lifecycle.get("prevent_destroy") is True and bucket.body.get("force_destroy") is True:
            yield bucket.violation(
                PREVENT_DESTROY,
                "holds production data but force_destroy lets Terraform empty it",
                "set force_destroy = false",
            )


def _check(config: Config, context: RuleContext) -> Iterator[Violation]:
    yield from _check_buckets(config)
    yield from _check_force_destroy(config, context.protect_data)


RULES = Rules(
    (
        BUCKET_PUBLIC_ACCESS_BLOCK,
        BUCKET_ENCRYPTION,
        BUCKET_OWNERSHIP_ENFORCED,
        BUCKET_DENY_INSECURE_TRANSPORT,
    ),
    _check,
)
