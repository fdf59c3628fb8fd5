"""The props of every construct in this library: what each field means and its default.

Importable without loading cdktf (the settings and tools use these types too). A construct
takes one props object; the defaults are what is usual for this service (and the safe choice
for data, as AWS CDK retains stateful resources by default), so a caller passes only what
differs. The constructs themselves are in the modules named after them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from constructs_lib.kinds import CachePolicyKind, OriginAccess

if TYPE_CHECKING:
    from cdktf import TerraformProvider

# AWS's managed "SecurityHeadersPolicy": HSTS, X-Content-Type-Options nosniff, X-Frame-Options,
# Referrer-Policy and XSS protection on every response (same id in every account).
MANAGED_SECURITY_HEADERS_POLICY_ID = "67f7725c-6f97-4210-82d7-5512b31e9d03"


# The retention periods CloudWatch Logs accepts (PutRetentionPolicy); anything else is rejected
# by AWS at apply time, so the settings and constructs reject it at synth time instead.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


@dataclass(frozen=True)
class MetadataTableProps:
    """MetadataTable: the single-table design with UserIndex and AlbumIndex."""

    name: str
    #: Restorable to any second of the last 35 days. Default: on.
    point_in_time_recovery: bool = True
    #: Production data: DynamoDB's deletion protection plus Terraform's prevent_destroy.
    #: Default: protected (turn it off only where the data may be lost).
    protect_data: bool = True
    partition_key: str = "PK"
    sort_key: str = "SK"


@dataclass(frozen=True)
class ImageBucketProps:
    """ImageBucket: private, encrypted, TLS-only, browsers upload through CORS."""

    name: str
    #: Origins browsers may upload from and read with (S3 allows one '*' per origin).
    cors_origins: tuple[str, ...]
    #: Keep overwritten and deleted images as noncurrent versions. Default: on.
    versioning: bool = True
    #: Days until an image moves to Intelligent-Tiering. Default: 0 (at once; SPEC).
    intelligent_tiering_days: int = 0
    #: Days a noncurrent version is kept (versioned buckets). Default: 30.
    noncurrent_version_expiration_days: int = 30
    #: Days until an unfinished multipart upload is aborted. Default: 1.
    abort_multipart_days: int = 1
    #: Production data: prevent_destroy, and Terraform may not empty the bucket to delete it.
    #: Default: protected.
    protect_data: bool = True
    #: The same rules as aws_s3_bucket's deprecated inline `lifecycle_rule` blocks instead of
    #: an aws_s3_bucket_lifecycle_configuration resource. Only for an emulator: the provider
    #: waits 55 s after creating that resource, not after the inline form
    #: (stacks/settings.py). Default: off.
    inline_lifecycle_rules: bool = False
    #: The bucket policy denies every request not made over TLS. False only for an emulator
    #: that cannot evaluate that condition (stacks/settings.py); the organisation policy then
    #: needs a waiver with the reason. Default: on.
    deny_insecure_transport: bool = True


@dataclass(frozen=True)
class CustomDomain:
    """A hostname of our own for the CDN or the API, and the ACM certificate that covers it
    (for the CDN issued in us-east-1, for the API in the API's own region)."""

    hostname: str
    certificate_arn: str


@dataclass(frozen=True)
class ImageCdnProps:
    """ImageCdn: CloudFront in front of the image bucket, the bucket's only reader."""

    name: str
    #: How CloudFront reads the bucket. Default: "OAC" (Origin Access Control).
    origin_access: OriginAccess = "OAC"
    #: "custom": a long-caching policy of this stack; or AWS's managed CachingOptimized.
    cache_policy: CachePolicyKind = "custom"
    min_ttl: int = 0
    #: Seconds. Default: one day.
    default_ttl: int = 86_400
    #: Seconds. Default: one year (images are immutable).
    max_ttl: int = 31_536_000
    #: Default: "PriceClass_100" (North America and Europe edges).
    price_class: str = "PriceClass_100"
    #: Wait until the distribution is deployed worldwide (15+ minutes). Default: on.
    wait_for_deployment: bool = True
    #: A hostname with its certificate. Default: none (CloudFront's own name and certificate).
    custom_domain: CustomDomain | None = None
    #: Exact origins (CloudFront matches no wildcard subdomains), or '*', allowed to read
    #: images cross-origin (fetch, canvas, <img crossorigin>). Default: none.
    cors_origins: tuple[str, ...] = ()
    #: None: a response headers policy of this distribution, answering CORS for cors_origins
    #: and adding every header AWS's managed SecurityHeadersPolicy adds. An id: that existing
    #: policy instead (e.g. MANAGED_SECURITY_HEADERS_POLICY_ID, where no policy can be
    #: created). Default: None.
    response_headers_policy_id: str | None = None
    #: CloudFront standard logging (v2): access logs delivered to a CloudWatch Logs group
    #: /aws/cloudfront/<name> through CloudWatch's vended-log delivery (no ACL bucket). The
    #: delivery source must be in us-east-1, where CloudFront's API lives. Default: off.
    access_logs: bool = False
    #: Days the access logs are kept. Default: 90.
    access_log_retention_days: int = 90
    #: Attributes an emulator reports differently from AWS (stacks/settings.py). Default: none.
    ignore_drift_in: tuple[str, ...] = ()
    #: False creates the distribution disabled: it serves nothing. Only for an emulator, which
    #: serves nothing anyway; destroying a disabled distribution skips the provider's 30 s wait.
    #: Default: on.
    enabled: bool = True
    #: `terraform destroy` forgets the distribution instead of deleting it (no 15 s wait). Only
    #: for an emulator, whose memory goes with it; on AWS it would leave the distribution
    #: behind. Default: off.
    retain_on_delete: bool = False


@dataclass(frozen=True)
class ImageApiProps:
    """ImageApi: the HTTP API whose every route is behind the JWT authorizer."""

    name: str
    #: Exact origins (HTTP APIs match no wildcard subdomains), or '*'.
    cors_origins: tuple[str, ...]
    #: Requests above the steady rate that may arrive at once. Default: 100.
    throttling_burst_limit: int = 100
    #: Requests per second, steady. Default: 50.
    throttling_rate_limit: float = 50.0
    #: Days the access logs are kept. Default: 14.
    access_log_retention_days: int = 14
    #: A hostname with its certificate. Default: none (the API's execute-api name).
    custom_domain: CustomDomain | None = None


@dataclass(frozen=True)
class UserAuthProps:
    """UserAuth: a Cognito user pool and browser app client, or existing ones."""

    name: str
    #: The pool's region: part of the token issuer the JWT authorizer checks.
    region: str
    #: Production data (user accounts): Cognito deletion protection and prevent_destroy.
    #: Default: protected.
    protect_data: bool = True
    #: Both set: use that pool and those clients instead of creating them. Default: create.
    existing_user_pool_id: str | None = None
    existing_client_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostedZoneProps:
    name: str
    #: False: look up a zone that already exists (the usual case: the domain is registered
    #: elsewhere in the organisation). True: this stack owns the zone. Default: look up.
    create: bool = False


@dataclass(frozen=True)
class DnsValidatedCertificateProps:
    domain_name: str
    zone_id: str
    #: The provider (and so the region) that issues the certificate: CloudFront only accepts
    #: certificates from us-east-1; regional APIs need one from their own region.
    #: Default: the stack's default provider.
    provider: TerraformProvider | None = None


@dataclass(frozen=True)
class ImageHandlerProps:
    """ImageHandler: one Lambda function with its own role, log group and exactly the access it
    is granted (table.grant_read_data(handler), bucket.grant_put(handler), ...)."""

    #: The function name (1-64 letters, digits, '-', '_'); its role is named `<name>-role`, so
    #: at most 59 characters here.
    name: str
    #: The folder packaged as the function's zip when the stack is synthesized.
    source_dir: Path
    #: `module.function` inside source_dir, e.g. "app.handler" for app.py's `handler`.
    handler: str
    #: Default: "python3.12".
    runtime: str = "python3.12"
    #: "x86_64" or "arm64". Default: "x86_64" (wheels with native code are built for it).
    architecture: str = "x86_64"
    #: MB, 128-10,240. Default: 256.
    memory_mb: int = 256
    #: Seconds, 1-900. An HTTP API gives up on its integration after 30 s. Default: 10.
    timeout_seconds: int = 10
    #: Variables the code reads; the stack adds the service's own with
    #: `stack.add_service_environment(handler)`. Default: none.
    environment: Mapping[str, str] = field(default_factory=dict)
    #: Days the function's log group /aws/lambda/<name> keeps its logs. Default: 14.
    log_retention_days: int = 14
    #: Executions reserved for (and capped at) this function. Default: none (the account's
    #: unreserved pool).
    reserved_concurrency: int | None = None
