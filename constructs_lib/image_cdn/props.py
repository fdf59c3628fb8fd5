"""ImageCdnProps: the settings of the CDN in front of the bucket (constructs_lib/image_cdn/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypedDict, get_args

from constructs_lib.domains.props import CustomDomain
from constructs_lib.errors import Problem
from constructs_lib.metrics import Threshold, alarm_problems
from constructs_lib.validation import exact_origin_problems, retention_problems, set_by_the_stack

if TYPE_CHECKING:
    from cdktf import TerraformProvider

# How the CDN reaches the bucket, and which cache policy it uses.
OriginAccess = Literal["OAC", "OAI"]
CachePolicyKind = Literal["custom", "managed-caching-optimized"]
ORIGIN_ACCESS_MODES: tuple[str, ...] = get_args(OriginAccess)
CACHE_POLICY_KINDS: tuple[str, ...] = get_args(CachePolicyKind)

# AWS's managed "SecurityHeadersPolicy": HSTS, X-Content-Type-Options nosniff, X-Frame-Options,
# Referrer-Policy and XSS protection on every response (same id in every account).
MANAGED_SECURITY_HEADERS_POLICY_ID = "67f7725c-6f97-4210-82d7-5512b31e9d03"
# AWS's managed "CachingOptimized" policy (same id in every account).
MANAGED_CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
# What the distribution serves and its response headers policy allows cross-origin, and for how
# long browsers may cache a CORS answer. HSTS as AWS's managed SecurityHeadersPolicy sets it:
# one year. No OPTIONS: a browser reads images with GET and HEAD (CORS "simple" requests: no
# preflight), and a preflight would reach S3 without the Origin and Access-Control-Request-*
# headers S3 needs to answer it (the cache policy forwards no headers), so S3 would answer
# 400/403 and the browser's preflight would fail anyway. CloudFront refuses OPTIONS itself.
CORS_METHODS = ("GET", "HEAD")
CORS_MAX_AGE_SECONDS = 3600
HSTS_MAX_AGE_SECONDS = 31_536_000
FRAME_OPTION = "SAMEORIGIN"
REFERRER_POLICY = "strict-origin-when-cross-origin"
# The security headers the policy puts on every response, as a viewer receives them (the local
# gateway's CDN sends the same: ops/gateway/cdn.py).
SECURITY_HEADERS = {
    "strict-transport-security": f"max-age={HSTS_MAX_AGE_SECONDS}; includeSubDomains; preload",
    "x-content-type-options": "nosniff",
    "x-frame-options": FRAME_OPTION,
    "x-xss-protection": "1; mode=block",
    "referrer-policy": REFERRER_POLICY,
}


@dataclass(frozen=True)
class CdnAccessLogs:
    """CloudFront standard logging (v2): access logs delivered to a CloudWatch Logs group
    /aws/cloudfront/<name> through CloudWatch's vended-log delivery (no ACL bucket). The
    delivery source must be in us-east-1, where CloudFront's API lives."""

    #: Days the access logs are kept. Default: 90.
    retention_days: int = 90

    def problems(self) -> list[Problem]:
        return retention_problems("retention_days", self.retention_days)


@dataclass(frozen=True)
class CdnAlarms:
    """The CDN's alarm (constructs_lib/image_cdn/alarms.py), AWS's recommended one."""

    #: 5xx error rate (percent), 5 of 5 minutes. Default: above 5 %.
    server_error_rate: Threshold = Threshold(5, 5)

    def problems(self) -> list[Problem]:
        return alarm_problems(self)


@dataclass(frozen=True)
class ImageCdnProps:
    """ImageCdn: CloudFront in front of the image bucket, the bucket's only reader."""

    #: Names the distribution's own resources (cache policy, origin access, logs).
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
    #: Wait until the distribution is deployed to every edge. Default: off: the provider's
    #: wait cannot be bounded (aws_cloudfront_distribution has no `timeouts` block in provider
    #: 5.100; its waiter's limit is fixed in the provider's source, far past the deploy job's
    #: timeout: docs/first-deploy.md, "Bounded waits"), and nothing the apply does next needs
    #: the edges deployed; CloudFront finishes deploying on its own, in minutes.
    wait_for_deployment: bool = False
    #: A hostname with its certificate (the stack adds it). Default: none (CloudFront's own
    #: name and certificate).
    custom_domain: CustomDomain | None = field(
        default=None, metadata=set_by_the_stack("the stage's custom domains (`domains`)")
    )
    #: Exact origins (CloudFront matches no wildcard subdomains), or '*', allowed to read
    #: images cross-origin (fetch, canvas, <img crossorigin>). Default: none.
    cors_origins: tuple[str, ...] = ()
    #: None: a response headers policy of this distribution, answering CORS for cors_origins
    #: and adding every header AWS's managed SecurityHeadersPolicy adds. An id: that existing
    #: policy instead (e.g. MANAGED_SECURITY_HEADERS_POLICY_ID, where no policy can be
    #: created). Default: None.
    response_headers_policy_id: str | None = None
    #: Standard logging (v2) to CloudWatch Logs. Default: none.
    access_logs: CdnAccessLogs | None = None
    #: The provider (region us-east-1) that creates the access logs' group and vended-log
    #: delivery: CloudFront delivers standard logs v2 only from us-east-1, whatever the
    #: stack's region (the stack gives its us-east-1 provider). Default: the stack's default
    #: provider.
    log_delivery_provider: TerraformProvider | None = field(
        default=None, metadata=set_by_the_stack("the stack's us-east-1 provider")
    )
    #: The WAFv2 web ACL (its ARN) in front of the distribution (the stack gives its own).
    #: Default: none.
    web_acl_id: str | None = field(
        default=None, metadata=set_by_the_stack("the stage's web ACL (`waf`)")
    )
    #: Attributes an emulator reports differently from AWS (the emulator table). Default: none.
    ignore_drift_in: tuple[str, ...] = ()
    #: False creates the distribution disabled: it serves nothing. Only for an emulator, which
    #: serves nothing anyway; destroying a disabled distribution skips the provider's 30 s wait.
    #: Default: on.
    enabled: bool = True
    #: `terraform destroy` forgets the distribution instead of deleting it (no 15 s wait). Only
    #: for an emulator, whose memory goes with it; on AWS it would leave the distribution
    #: behind. Default: off.
    retain_on_delete: bool = False
    #: Its alarm's threshold. Default: AWS's recommended one.
    alarms: CdnAlarms = CdnAlarms()

    def problems(self) -> list[Problem]:
        found = []
        if self.access_logs is not None:
            found += [p.within("access_logs") for p in self.access_logs.problems()]
        if self.response_headers_policy_id is None and not self.cors_origins:
            found.append(
                Problem(
                    "cors_origins",
                    "the list is empty, so no browser app could read images cross-origin (and "
                    "CloudFront refuses a CORS configuration without origins)",
                    "list the app origins, e.g. 'https://lego-moc.com'",
                )
            )
        found += exact_origin_problems("cors_origins", self.cors_origins)
        found += self._choice_problems()
        if (
            min(self.min_ttl, self.default_ttl, self.max_ttl) < 0
            or not self.min_ttl <= self.default_ttl <= self.max_ttl
        ):
            found.append(
                Problem(
                    "min_ttl/default_ttl/max_ttl",
                    f"min {self.min_ttl} <= default {self.default_ttl} <= max {self.max_ttl} "
                    "does not hold",
                    "use non-negative seconds with min_ttl <= default_ttl <= max_ttl",
                )
            )
        found += [p.within("alarms") for p in self.alarms.problems()]
        return found

    def _choice_problems(self) -> list[Problem]:
        found = []
        if self.origin_access not in ORIGIN_ACCESS_MODES:
            found.append(
                Problem(
                    "origin_access",
                    f"'{self.origin_access}' is not an origin-access mode",
                    "use 'OAC' (Origin Access Control, recommended) or 'OAI' (legacy identity)",
                )
            )
        if self.cache_policy not in CACHE_POLICY_KINDS:
            found.append(
                Problem(
                    "cache_policy",
                    f"'{self.cache_policy}' is not a cache-policy kind",
                    "use 'custom' or 'managed-caching-optimized'",
                )
            )
        if self.price_class not in PRICE_CLASSES:
            found.append(
                Problem(
                    "price_class",
                    f"'{self.price_class}' is not a CloudFront price class",
                    "use one of " + ", ".join(PRICE_CLASSES),
                )
            )
        return found


class ImageCdnChanges(TypedDict, total=False):
    """What a stage's row may change of ImageCdnProps (stacks/settings/stages.py): every field but
    its name, which the stage gives, and what the stack sets. mypy checks the stage table
    against it."""

    origin_access: OriginAccess
    cache_policy: CachePolicyKind
    min_ttl: int
    default_ttl: int
    max_ttl: int
    price_class: str
    wait_for_deployment: bool
    cors_origins: tuple[str, ...]
    response_headers_policy_id: str | None
    access_logs: CdnAccessLogs | None
    ignore_drift_in: tuple[str, ...]
    enabled: bool
    retain_on_delete: bool
    alarms: CdnAlarms
