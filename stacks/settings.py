"""Stage settings: every value that differs between stages, in one typed, validated table.

Read `STAGES` at the bottom of this file to see what differs between dev, staging, production
and the local emulator target. Everything is validated once by `load_stages()` before any
construct is created, so a bad value stops the program before anything is written to disk.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, replace

from constructs_lib.kinds import (
    CACHE_POLICY_KINDS,
    ORIGIN_ACCESS_MODES,
    CachePolicyKind,
    OriginAccess,
)
from constructs_lib.props import LOG_RETENTION_DAYS, ImageCdnProps
from stacks.errors import SettingsError

# The toolchain every stack declares (terraform.required_version, required_providers): S3-native
# state locking (`use_lockfile`) needs Terraform 1.10; the provider is pinned exactly, as the
# cdktf bindings are generated for it.
TERRAFORM_REQUIRED_VERSION = ">= 1.10, < 2.0"
AWS_PROVIDER_VERSION = "5.100.0"

# CloudFront's control plane (certificates, vended-log delivery sources) lives here.
CLOUDFRONT_REGION = "us-east-1"
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")

# The port the local emulator prefers; `ops.local_aws` falls back to a free one and exports it.
LOCAL_ENDPOINT_ENV = "IMAGE_SERVICE_LOCAL_ENDPOINT"
DEFAULT_LOCAL_ENDPOINT = "http://127.0.0.1:5050"


@dataclass(frozen=True)
class AccountSettings:
    """The AWS account a stage lives in, and how its credentials are obtained. Every AWS provider
    of the stage refuses to act in any other account (`allowed_account_ids`); the stage's state
    backend uses the same role or profile."""

    #: The 12-digit account id.
    account_id: str
    #: A role in that account to assume for every provider and the state backend (e.g. a
    #: deploy role). Default: none (the credentials themselves act).
    role_arn: str | None = None
    #: A named profile from ~/.aws/config. Default: none (the environment's credentials, as CI's
    #: OIDC step sets them).
    profile: str | None = None


@dataclass(frozen=True)
class StateBackendSettings:
    """Where a stack keeps its Terraform state (S3, encrypted, locked with a lock file)."""

    bucket: str
    region: str


@dataclass(frozen=True)
class TableSettings:
    name: str
    point_in_time_recovery: bool


@dataclass(frozen=True)
class BucketSettings:
    name: str
    cors_origins: tuple[str, ...]
    versioning: bool
    intelligent_tiering_days: int = 0
    noncurrent_version_expiration_days: int = 30
    abort_multipart_days: int = 1
    # Emulator only (see `_on_emulator`): the same rules as the deprecated inline
    # `lifecycle_rule` blocks of aws_s3_bucket instead of aws_s3_bucket_lifecycle_configuration.
    inline_lifecycle_rules: bool = False
    # Emulator only: why the bucket policy leaves out the statement that denies requests not
    # made over TLS (None: the statement is there, and the organisation policy requires it).
    insecure_transport_allowed_because: str | None = None


# The CDN props' own defaults, which the CDN settings start from.
_CDN_DEFAULTS = ImageCdnProps(name="")


@dataclass(frozen=True)
class CdnSettings:
    """The CDN's settings, named and defaulted as ImageCdnProps (constructs_lib/props.py)."""

    origin_access: OriginAccess = _CDN_DEFAULTS.origin_access
    cache_policy: CachePolicyKind = _CDN_DEFAULTS.cache_policy
    min_ttl: int = _CDN_DEFAULTS.min_ttl
    default_ttl: int = _CDN_DEFAULTS.default_ttl
    max_ttl: int = _CDN_DEFAULTS.max_ttl
    price_class: str = _CDN_DEFAULTS.price_class
    # CloudFront takes 15+ minutes to deploy worldwide; callers that need the distribution ready
    # (the real stages) wait, the emulator does not need to.
    wait_for_deployment: bool = _CDN_DEFAULTS.wait_for_deployment
    # Distribution attributes Terraform should not reconcile. Only for emulators that report a
    # value differently from AWS; empty for every real stage.
    ignore_drift_in: tuple[str, ...] = ()
    # Emulator only (see `_on_emulator`): a distribution created disabled, which `terraform
    # destroy` forgets instead of deleting.
    enabled: bool = True
    retain_on_delete: bool = False
    # The app's origins that may read images cross-origin, exact (CloudFront matches no
    # wildcard subdomains), answered by the distribution's own response headers policy.
    cors_origins: tuple[str, ...] = _CDN_DEFAULTS.cors_origins
    # Emulator only: why AWS's managed SecurityHeadersPolicy is attached by id instead of the
    # distribution's own policy (which would answer CORS).
    managed_response_headers_because: str | None = None
    # CloudFront standard logging (v2) into a CloudWatch Logs group, and how long it is kept.
    access_logs: bool = _CDN_DEFAULTS.access_logs
    access_log_retention_days: int = _CDN_DEFAULTS.access_log_retention_days


@dataclass(frozen=True)
class ApiSettings:
    cors_origins: tuple[str, ...]
    throttling_burst_limit: int
    throttling_rate_limit: float
    access_log_retention_days: int


@dataclass(frozen=True)
class AuthSettings:
    """Cognito: the stack creates a pool and client unless an existing pool is named."""

    user_pool_name: str
    existing_user_pool_id: str | None = None
    existing_client_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DomainSettings:
    enabled: bool
    hosted_zone_name: str = "lego-api.com"
    create_hosted_zone: bool = False
    api_hostname: str = ""
    cdn_hostname: str = ""
    # Emulator only: why the API's custom domain (domain name, API mapping, alias record) is
    # left out while the certificates, the CDN's alias and its records are applied.
    api_domain_omitted_because: str | None = None


# The AWS config profile through which the emulator stages' providers reach the emulator.
EMULATOR_PROFILE = "image-service-emulator"
# The emulator's credentials and account: moto accepts any key pair and answers as this account.
EMULATOR_ACCESS_KEY = "testing"
EMULATOR_SECRET_KEY = "testing"
EMULATOR_ACCOUNT_ID = "123456789012"

# What the local emulator (moto 5.2) cannot do like AWS, with the reasons (measured facts:
# ../shared/EMULATOR.md). `_on_emulator` applies them; validation refuses them on real stages.
EMULATOR_BUCKET_POLICY_GAP = (
    "moto checks a bucket policy on every object request without the request's context, so a "
    "statement denying requests not made over TLS denies every upload and download; the "
    "emulator listens on 127.0.0.1 only"
)
EMULATOR_RESPONSE_HEADERS_GAP = (
    "moto has no CloudFront response-headers-policy API, so the emulator stages attach AWS's "
    "managed SecurityHeadersPolicy by id (security headers, no CORS)"
)
EMULATOR_API_DOMAIN_GAP = (
    "moto never reports an API Gateway custom domain name as AVAILABLE (it returns no "
    "DomainNameStatus), so the AWS provider's wait for it fails"
)


@dataclass(frozen=True)
class EmulatorSettings:
    """Points every provider and the backend at a local AWS emulator instead of AWS."""

    endpoint: str

    def aws_config(self) -> str:
        """The shared AWS config file the providers read: every service at `endpoint`."""
        return f"[profile {EMULATOR_PROFILE}]\nendpoint_url = {self.endpoint}\n"


def stack_name(stage: str) -> str:
    """The Terraform stack (and cdktf.out/stacks/ directory) of a stage."""
    return f"image-service-{stage}"


# The stacks that create the Terraform state buckets: one per real account
# (image-service-state-<account id>), and the emulator's.
STATE_STACK = "image-service-state"
EMULATOR_STATE_STACK = "image-service-state-local"
# Where the bootstrap keeps its own state once its bucket exists, and before (a file beside it).
BOOTSTRAP_STATE_KEY = "image-service/bootstrap/terraform.tfstate"
LOCAL_STATE_FILE = "terraform.bootstrap.tfstate"


@dataclass(frozen=True)
class StageSettings:
    stage: str
    region: str
    account: AccountSettings
    state: StateBackendSettings
    table: TableSettings
    bucket: BucketSettings
    cdn: CdnSettings
    api: ApiSettings
    auth: AuthSettings
    domains: DomainSettings
    # Production data: DynamoDB deletion protection, Terraform prevent_destroy on the table,
    # bucket and user pool, and a bucket that refuses to be emptied by Terraform.
    protect_data: bool
    emulator: EmulatorSettings | None = None

    @property
    def stack_name(self) -> str:
        return stack_name(self.stage)

    @property
    def state_key(self) -> str:
        return f"image-service/{self.stage}/terraform.tfstate"


# --------------------------------------------------------------------------------------------
# Validation: each rule names the setting it checks and the fix.
# --------------------------------------------------------------------------------------------
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROLE_ARN = re.compile(r"^arn:aws(?:-[a-z-]+)?:iam::(\d{12}):role/[\w+=,.@/-]{1,64}$")
_PROFILE = re.compile(r"^[A-Za-z0-9_.+@-]{1,64}$")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_BUCKET_CHARS = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EXACT_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$")
_USER_POOL_ID = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d_[0-9A-Za-z]+$")
_CLIENT_ID = re.compile(r"^[0-9a-z]{1,128}$")


# While validate_stage runs, each rule's failure is collected (the first per setting) instead
# of raised, so one run reports every problem of a stage, as AWS CDK's validation does.
_collected: dict[str, SettingsError] | None = None


def _fail(stage: str, setting: str, problem: str, fix: str) -> None:
    error = SettingsError(stage, setting, problem, fix)
    if _collected is None:
        raise error
    _collected.setdefault(setting, error)


def validate_bucket_name(stage: str, setting: str, name: str) -> None:
    """S3's general-purpose bucket naming rules."""
    fix = (
        "use 3-63 characters of lowercase letters, digits, '.' and '-', starting and ending "
        "with a letter or digit, e.g. 'images-lego-moc-dev'"
    )
    if not name:
        _fail(stage, setting, "the bucket name is empty", fix)
    if not 3 <= len(name) <= 63:
        _fail(stage, setting, f"'{name}' is {len(name)} characters long; S3 allows 3 to 63", fix)
    if not _BUCKET_CHARS.match(name):
        _fail(stage, setting, f"'{name}' has characters or ends S3 does not allow", fix)
    if ".." in name or ".-" in name or "-." in name:
        _fail(stage, setting, f"'{name}' has adjacent periods or a period next to a hyphen", fix)
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        _fail(stage, setting, f"'{name}' is formatted as an IP address", fix)
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            _fail(stage, setting, f"'{name}' starts with the reserved prefix '{prefix}'", fix)
    for suffix in ("-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap"):
        if name.endswith(suffix):
            _fail(stage, setting, f"'{name}' ends with the reserved suffix '{suffix}'", fix)


def _validate_hostname(stage: str, setting: str, host: str) -> None:
    fix = "use a lowercase DNS name such as 'images-dev.lego-api.com' (labels of a-z, 0-9, '-')"
    if not host:
        _fail(stage, setting, "the hostname is empty while custom domains are enabled", fix)
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_HOST_LABEL.match(lab) for lab in labels):
        _fail(stage, setting, f"'{host}' is not a valid DNS hostname", fix)


def _validate_bucket_cors_origin(stage: str, setting: str, origin: str) -> None:
    # S3 CORS allows at most one '*' wildcard in an origin (e.g. https://*.lego-moc.com).
    fix = "use an origin like 'https://lego-moc.com' or 'https://*.lego-moc.com'"
    if origin == "*":
        return
    if origin.count("*") > 1 or not re.match(r"^https?://[a-z0-9.*-]+(:\d{1,5})?$", origin):
        _fail(stage, setting, f"'{origin}' is not an origin S3 CORS accepts", fix)


def _validate_api_cors_origin(stage: str, setting: str, origin: str) -> None:
    if origin in ("*", "https://*", "http://*"):
        return
    if "*" in origin:
        _fail(
            stage,
            setting,
            f"'{origin}' is a wildcard-subdomain origin. API Gateway HTTP APIs only accept "
            "exact origins, '*', 'https://*' and 'http://*', so this origin would never match "
            "a browser's request",
            "list each app origin exactly, e.g. 'https://www.lego-moc.com', "
            "'https://dev.lego-moc.com'",
        )
    if not _EXACT_ORIGIN.match(origin):
        _fail(
            stage,
            setting,
            f"'{origin}' is not an origin (scheme://host[:port], no path)",
            "write it like 'https://lego-moc.com', without a trailing slash or path",
        )


def validate_stage(s: StageSettings) -> StageSettings:
    """The stage's settings if every rule holds; else one SettingsError naming every setting
    that breaks a rule, each with its problem and fix."""
    global _collected
    outer, _collected = _collected, {}
    try:
        _check_stage(s)
        problems = list(_collected.values())
    finally:
        _collected = outer
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise SettingsError.several(problems)
    return s


def _check_account(st: str, account: AccountSettings) -> None:
    if not _ACCOUNT_ID.match(account.account_id):
        _fail(
            st,
            "account.account_id",
            f"{account.account_id!r} is not an AWS account id",
            "use the account's 12 digits, as a string (e.g. '123456789012'; the AWS console shows "
            "it under the account menu, `aws sts get-caller-identity` prints it)",
        )
    if account.role_arn is not None:
        match = _ROLE_ARN.match(account.role_arn)
        if not match:
            _fail(
                st,
                "account.role_arn",
                f"{account.role_arn!r} is not an IAM role ARN",
                "use arn:aws:iam::<account id>:role/<name>, or None to use the credentials as "
                "they are",
            )
        elif match.group(1) != account.account_id:
            _fail(
                st,
                "account.role_arn",
                f"the role is in account {match.group(1)}, but the stage is pinned to account "
                f"{account.account_id}",
                "name a role in the stage's own account (every provider refuses any other)",
            )
    if account.profile is not None and not _PROFILE.match(account.profile):
        _fail(
            st,
            "account.profile",
            f"{account.profile!r} is not a usable profile name",
            "use the name of a profile in ~/.aws/config (letters, digits, '_', '.', '-', '+', "
            "'@'), or None for the environment's credentials",
        )


def _check_stage(settings: StageSettings) -> None:
    st = settings.stage
    if not re.match(r"^[a-z][a-z0-9-]{0,19}$", st):
        _fail(
            st,
            "stage",
            f"'{st}' is not a usable stage name",
            "use 1-20 lowercase letters, digits or '-', starting with a letter",
        )
    for setting, region in (("region", settings.region), ("state.region", settings.state.region)):
        if not _REGION.match(region):
            _fail(
                st,
                setting,
                f"'{region}' is not an AWS region name",
                "use a region code such as 'us-east-1' or 'eu-west-1'",
            )
    validate_bucket_name(st, "state.bucket", settings.state.bucket)
    _check_account(st, settings.account)

    if not _TABLE_NAME.match(settings.table.name):
        _fail(
            st,
            "table.name",
            f"'{settings.table.name}' is not a valid DynamoDB table name",
            "use 3-255 characters of letters, digits, '_', '-' and '.', e.g. 'ImageMetadata-dev'",
        )
    _check_bucket(st, settings.bucket)
    _check_cdn(st, settings.cdn, settings.region)
    _check_api(st, settings.api)
    _check_auth(st, settings.auth)
    _check_domains(st, settings.domains)
    _check_emulator_only_settings(settings)


def _check_bucket(st: str, bucket: BucketSettings) -> None:
    validate_bucket_name(st, "bucket.name", bucket.name)
    if not bucket.cors_origins:
        _fail(
            st,
            "bucket.cors_origins",
            "the list is empty, so browsers could not upload",
            "list at least one origin, e.g. 'https://lego-moc.com'",
        )
    for origin in bucket.cors_origins:
        _validate_bucket_cors_origin(st, "bucket.cors_origins", origin)
    for setting, days, minimum in (
        ("bucket.intelligent_tiering_days", bucket.intelligent_tiering_days, 0),
        ("bucket.noncurrent_version_expiration_days", bucket.noncurrent_version_expiration_days, 1),
        ("bucket.abort_multipart_days", bucket.abort_multipart_days, 1),
    ):
        if not isinstance(days, int) or isinstance(days, bool) or days < minimum:
            _fail(
                st,
                setting,
                f"{days!r} is not a whole number of days >= {minimum}",
                f"set a whole number of days of at least {minimum}",
            )


def _check_cdn(st: str, cdn: CdnSettings, region: str) -> None:
    if cdn.access_logs and cdn.access_log_retention_days not in LOG_RETENTION_DAYS:
        _fail(
            st,
            "cdn.access_log_retention_days",
            f"{cdn.access_log_retention_days!r} is not a retention period CloudWatch Logs accepts",
            "use one of " + ", ".join(map(str, LOG_RETENTION_DAYS)),
        )
    if cdn.access_logs and region != CLOUDFRONT_REGION:
        _fail(
            st,
            "cdn.access_logs",
            f"CloudFront delivers standard logs (v2) only through a delivery source in "
            f"{CLOUDFRONT_REGION}, and this stage deploys to {region}",
            f"deploy the stage to {CLOUDFRONT_REGION}, or turn cdn.access_logs off",
        )
    if cdn.managed_response_headers_because is None and not cdn.cors_origins:
        _fail(
            st,
            "cdn.cors_origins",
            "the list is empty, so no browser app could read images cross-origin (and "
            "CloudFront refuses a CORS configuration without origins)",
            "list the app origins, e.g. 'https://lego-moc.com'",
        )
    for origin in cdn.cors_origins:
        _validate_api_cors_origin(st, "cdn.cors_origins", origin)
    if cdn.origin_access not in ORIGIN_ACCESS_MODES:
        _fail(
            st,
            "cdn.origin_access",
            f"'{cdn.origin_access}' is not an origin-access mode",
            "use 'OAC' (Origin Access Control, recommended) or 'OAI' (legacy identity)",
        )
    if cdn.cache_policy not in CACHE_POLICY_KINDS:
        _fail(
            st,
            "cdn.cache_policy",
            f"'{cdn.cache_policy}' is not a cache-policy kind",
            "use 'custom' or 'managed-caching-optimized'",
        )
    if cdn.price_class not in PRICE_CLASSES:
        _fail(
            st,
            "cdn.price_class",
            f"'{cdn.price_class}' is not a CloudFront price class",
            "use one of " + ", ".join(PRICE_CLASSES),
        )
    if (
        min(cdn.min_ttl, cdn.default_ttl, cdn.max_ttl) < 0
        or not cdn.min_ttl <= cdn.default_ttl <= cdn.max_ttl
    ):
        _fail(
            st,
            "cdn.min_ttl/default_ttl/max_ttl",
            f"min {cdn.min_ttl} <= default {cdn.default_ttl} <= max {cdn.max_ttl} does not hold",
            "use non-negative seconds with min_ttl <= default_ttl <= max_ttl",
        )


def _check_api(st: str, api: ApiSettings) -> None:
    if not api.cors_origins:
        _fail(
            st,
            "api.cors_origins",
            "the list is empty, so no browser app could call the API",
            "list the app origins, e.g. 'https://lego-moc.com'",
        )
    for origin in api.cors_origins:
        _validate_api_cors_origin(st, "api.cors_origins", origin)
    if not isinstance(api.throttling_burst_limit, int) or api.throttling_burst_limit <= 0:
        _fail(
            st,
            "api.throttling_burst_limit",
            f"{api.throttling_burst_limit!r} is not positive",
            "set a whole number of requests greater than 0, e.g. 100",
        )
    if not isinstance(api.throttling_rate_limit, (int, float)) or api.throttling_rate_limit <= 0:
        _fail(
            st,
            "api.throttling_rate_limit",
            f"{api.throttling_rate_limit!r} is not positive",
            "set requests per second greater than 0, e.g. 50",
        )
    burst, rate = api.throttling_burst_limit, api.throttling_rate_limit
    if isinstance(burst, int) and isinstance(rate, (int, float)) and 0 < burst < rate:
        _fail(
            st,
            "api.throttling_burst_limit",
            f"the burst ({burst}) is below the steady rate ({rate:g} requests per second). The "
            "burst is how many requests API Gateway's token bucket holds: a second's worth of "
            "traffic at the steady rate needs at least the rate, so every spike would be cut "
            "below the rate the stage is meant to sustain",
            f"set the burst to at least the rate, e.g. {int(rate * 2)} for a rate of {rate:g}",
        )
    if api.access_log_retention_days not in LOG_RETENTION_DAYS:
        _fail(
            st,
            "api.access_log_retention_days",
            f"{api.access_log_retention_days!r} is not a retention period CloudWatch Logs accepts",
            "use one of " + ", ".join(map(str, LOG_RETENTION_DAYS)),
        )


def _check_auth(st: str, auth: AuthSettings) -> None:
    if not auth.user_pool_name.strip():
        _fail(
            st,
            "auth.user_pool_name",
            "the user pool name is empty",
            "name the pool, e.g. 'image-service-dev'",
        )
    if auth.existing_user_pool_id is not None:
        if not _USER_POOL_ID.match(auth.existing_user_pool_id):
            _fail(
                st,
                "auth.existing_user_pool_id",
                f"'{auth.existing_user_pool_id}' is not a Cognito user pool id",
                "use the id shown by Cognito, e.g. 'us-east-1_AbC123xyz', or None to create one",
            )
        if not auth.existing_client_ids:
            _fail(
                st,
                "auth.existing_client_ids",
                "an existing pool is named but no client ids",
                "list the pool's app client ids; the JWT authorizer needs them as audience",
            )
        for cid in auth.existing_client_ids:
            if not _CLIENT_ID.match(cid):
                _fail(
                    st,
                    "auth.existing_client_ids",
                    f"'{cid}' is not a Cognito app client id",
                    "use the client id shown by Cognito (lowercase letters and digits)",
                )
    elif auth.existing_client_ids:
        _fail(
            st,
            "auth.existing_client_ids",
            "client ids are given without an existing pool",
            "also set auth.existing_user_pool_id, or remove the client ids",
        )


def _check_domains(st: str, domains: DomainSettings) -> None:
    if domains.enabled:
        if not domains.hosted_zone_name:
            _fail(
                st,
                "domains.hosted_zone_name",
                "custom domains are on but no hosted zone is named",
                "name the Route53 zone, e.g. 'lego-api.com', or set domains.enabled=False",
            )
        _validate_hostname(st, "domains.hosted_zone_name", domains.hosted_zone_name)
        for setting, host in (
            ("domains.api_hostname", domains.api_hostname),
            ("domains.cdn_hostname", domains.cdn_hostname),
        ):
            _validate_hostname(st, setting, host)
            if domains.hosted_zone_name and not (
                host == domains.hosted_zone_name or host.endswith("." + domains.hosted_zone_name)
            ):
                _fail(
                    st,
                    setting,
                    f"'{host}' is not inside the zone '{domains.hosted_zone_name}'",
                    "use a hostname under domains.hosted_zone_name, or change the zone",
                )
        if domains.api_hostname == domains.cdn_hostname:
            _fail(
                st,
                "domains.cdn_hostname",
                f"the CDN and the API both claim '{domains.cdn_hostname}'; one hostname can point "
                "at only one of them",
                "give the CDN its own name, e.g. 'cdn.images.lego-api.com'",
            )


def _check_emulator_only_settings(settings: StageSettings) -> None:
    """The emulator's shortcuts only on emulator stages, and what an emulator stage needs."""
    st = settings.stage
    if settings.emulator is None:
        # The emulator's shortcuts around fixed AWS-provider waits (see `_on_emulator`).
        for setting, value, default, on_aws in (
            (
                "bucket.inline_lifecycle_rules",
                settings.bucket.inline_lifecycle_rules,
                False,
                "the lifecycle rules would use aws_s3_bucket's deprecated inline block",
            ),
            ("cdn.enabled", settings.cdn.enabled, True, "the CDN would serve no images"),
            (
                "cdn.retain_on_delete",
                settings.cdn.retain_on_delete,
                False,
                "a destroyed stack would leave its distribution behind in the account",
            ),
            (
                "bucket.insecure_transport_allowed_because",
                settings.bucket.insecure_transport_allowed_because,
                None,
                "the bucket would accept requests not made over TLS",
            ),
            (
                "domains.api_domain_omitted_because",
                settings.domains.api_domain_omitted_because,
                None,
                "the API would have no custom domain",
            ),
            (
                "cdn.managed_response_headers_because",
                settings.cdn.managed_response_headers_because,
                None,
                "browsers could not read images cross-origin (no CORS headers)",
            ),
        ):
            if value != default:
                _fail(
                    st,
                    setting,
                    f"{value!r} is a shortcut for the local emulator only; on AWS {on_aws}",
                    f"remove {setting} from this stage's settings (the default is {default!r})",
                )
    if settings.emulator is not None:
        if not re.match(
            r"^http://(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d{1,5}$", settings.emulator.endpoint
        ):
            _fail(
                st,
                "emulator.endpoint",
                f"'{settings.emulator.endpoint}' is not a loopback URL; the local target must "
                "never send traffic anywhere else",
                f"use http://127.0.0.1:<port> (or unset {LOCAL_ENDPOINT_ENV})",
            )
        if settings.domains.enabled and not settings.domains.create_hosted_zone:
            _fail(
                st,
                "domains.create_hosted_zone",
                "the emulator starts empty, so it has no hosted zone to look up",
                "set domains.create_hosted_zone=True for an emulator stage",
            )
        if settings.domains.enabled and settings.domains.api_domain_omitted_because is None:
            _fail(
                st,
                "domains.api_domain_omitted_because",
                "the emulator cannot apply an API custom domain: " + EMULATOR_API_DOMAIN_GAP,
                "set domains.api_domain_omitted_because (see _on_emulator), or "
                "domains.enabled=False",
            )
        if settings.cdn.origin_access == "OAI" or settings.cdn.cache_policy == "custom":
            _fail(
                st,
                "cdn.origin_access/cdn.cache_policy",
                "the emulator has no API for origin access identities or cache policies",
                "use origin_access='OAC' and cache_policy='managed-caching-optimized'",
            )


# --------------------------------------------------------------------------------------------
# The stages. Everything that differs between them is visible here.
# --------------------------------------------------------------------------------------------
# The AWS accounts of the real stages. PLACEHOLDERS: set each stage's account id (and, if its
# credentials come from a role or a named profile, role_arn/profile) before its first deploy;
# every provider of the stage then refuses to touch any other account.
ACCOUNTS = {
    "dev": AccountSettings(account_id="111111111111"),
    "staging": AccountSettings(account_id="222222222222"),
    "production": AccountSettings(account_id="333333333333"),
}
# The emulator's one account (moto's default).
EMULATOR_ACCOUNT = AccountSettings(account_id=EMULATOR_ACCOUNT_ID)


def state_bucket(account: AccountSettings) -> StateBackendSettings:
    """Each account keeps its stages' Terraform state in a bucket of its own, so dev and
    production state are separated by account and IAM (the bootstrap stack creates it)."""
    return StateBackendSettings(
        bucket=f"lego-moc-image-service-tfstate-{account.account_id}", region="us-east-1"
    )


LOCAL_STATE = StateBackendSettings(bucket="image-service-tfstate-local", region="us-east-1")
BUCKET_CORS_ORIGINS = ("https://lego-moc.com", "https://*.lego-moc.com")
API_CORS_ORIGINS = ("https://lego-moc.com", "https://www.lego-moc.com")


def _stage(
    stage: str,
    *,
    app_origin: str | None,
    production: bool,
    versioning: bool,
    api_hostname: str,
    cdn_hostname: str,
) -> StageSettings:
    return StageSettings(
        stage=stage,
        region="us-east-1",
        account=ACCOUNTS[stage],
        state=state_bucket(ACCOUNTS[stage]),
        table=TableSettings(name=f"ImageMetadata-{stage}", point_in_time_recovery=production),
        bucket=BucketSettings(
            name=f"images-lego-moc-{stage}",
            cors_origins=BUCKET_CORS_ORIGINS,
            versioning=versioning,
        ),
        cdn=CdnSettings(
            cors_origins=API_CORS_ORIGINS + ((app_origin,) if app_origin else ()),
            access_logs=production,  # standard logging v2 in production; off for dev/staging
        ),
        api=ApiSettings(
            cors_origins=API_CORS_ORIGINS + ((app_origin,) if app_origin else ()),
            # Burst at least the rate (validated): twice it, to absorb spikes.
            throttling_burst_limit=2000 if production else 100,
            throttling_rate_limit=1000.0 if production else 50.0,
            access_log_retention_days=90 if production else 14,
        ),
        auth=AuthSettings(user_pool_name=f"image-service-{stage}"),
        domains=DomainSettings(enabled=True, api_hostname=api_hostname, cdn_hostname=cdn_hostname),
        protect_data=production,
    )


def _on_emulator(base: StageSettings, stage: str, *, skip_provider_waits: bool) -> StageSettings:
    """`base` as the local emulator (moto) can apply it, data protection unchanged; each gap
    between moto and AWS is named here.

    skip_provider_waits=True also swaps two resource shapes for ones the AWS provider does not
    wait on. The waits are fixed sleeps in provider 5.100, not moto's speed (measured with
    TF_LOG=DEBUG timelines; ../shared/EMULATOR.md):
    - aws_s3_bucket_lifecycle_configuration: on create/update the provider reads the rules back
      until they match 10 times in a row, first poll after 10 s, then every 5 s: 55 s, though
      moto matches on the first read. The same rules given inline on aws_s3_bucket are one PUT
      with no waiter ("Creation complete after 0s"); moto stores identical rules and the re-plan
      is empty.
    - aws_cloudfront_distribution destroy: disable, wait 30 s, delete, wait 15 s: 45 s. Created
      disabled there is nothing to disable, and retained on delete Terraform only forgets it: 0 s.
      moto serves no content from a distribution, so a disabled one loses nothing here, and the
      emulator keeps everything in memory, so a forgotten one is gone with it.
    - Route53: every zone and record change waits for INSYNC, 10-30 s each, one wait per
      dependency level (zone, validation records, alias records), though moto is in sync at
      once. The fast stage leaves custom domains out.
    Measured (bench/results.md): apply of image-service-local 60.5 s -> 6.4 s with the inline
    rules, destroy 50.4 s -> 5.9 s with the disabled, retained distribution.
    The faithful twin (skip_provider_waits=False) keeps `base`'s shapes, so the deployment tests
    still apply the lifecycle configuration resource, an enabled distribution and the custom
    domains (certificates issued at once: ops/local_aws.py starts moto with
    MOTO_ACM_VALIDATION_WAIT=0).
    """
    bucket = replace(
        base.bucket,
        name=f"images-lego-moc-{stage}",
        insecure_transport_allowed_because=EMULATOR_BUCKET_POLICY_GAP,
    )
    # The emulator starts empty, so the stack creates the zone the real stages look up.
    domains = replace(
        base.domains, create_hosted_zone=True, api_domain_omitted_because=EMULATOR_API_DOMAIN_GAP
    )
    # moto 5.2 reads back a distribution unlike AWS: it returns an empty forwarded_values block
    # although a cache policy is set, drops the origin's origin_access_control_id, reports
    # ssl_support_method "sni-only" for the default certificate, and adds
    # cloudfront_default_certificate=true to a viewer certificate that names an ACM certificate.
    # None can be fixed in configuration AWS accepts.
    drift: tuple[str, ...] = (
        "origin",
        "default_cache_behavior[0].forwarded_values",
        "viewer_certificate[0].ssl_support_method",
    )
    # moto has no CloudFront cache-policy or OAI API: OAC + AWS's managed CachingOptimized.
    cdn = replace(
        base.cdn,
        origin_access="OAC",
        cache_policy="managed-caching-optimized",
        wait_for_deployment=False,
        managed_response_headers_because=EMULATOR_RESPONSE_HEADERS_GAP,
    )
    if skip_provider_waits:
        bucket = replace(bucket, inline_lifecycle_rules=True)
        cdn = replace(cdn, enabled=False, retain_on_delete=True)
        domains = replace(domains, enabled=False)
    if domains.enabled:
        drift += ("viewer_certificate[0].cloudfront_default_certificate",)
    return replace(
        base,
        stage=stage,
        account=EMULATOR_ACCOUNT,
        state=LOCAL_STATE,
        table=replace(base.table, name=f"ImageMetadata-{stage}"),
        bucket=bucket,
        cdn=replace(cdn, ignore_drift_in=drift),
        auth=replace(base.auth, user_pool_name=f"image-service-{stage}"),
        domains=domains,
        emulator=EmulatorSettings(
            endpoint=os.environ.get(LOCAL_ENDPOINT_ENV) or DEFAULT_LOCAL_ENDPOINT
        ),
    )


@dataclass(frozen=True)
class EmulatorTwin:
    """A stage on the local emulator: the settings of the real stage `base`, moved there."""

    base: str
    # True: the fast local loop (no fixed provider waits, see `_on_emulator`); False: `base`'s
    # exact resource shapes, to prove them on the emulator.
    skip_provider_waits: bool


STAGES_BASE: dict[str, StageSettings] = {
    "dev": _stage(
        "dev",
        app_origin="https://dev.lego-moc.com",
        production=False,
        versioning=False,  # SPEC: dev keeps no old versions
        api_hostname="images-dev.lego-api.com",
        cdn_hostname="cdn.images-dev.lego-api.com",
    ),
    "staging": _stage(
        "staging",
        app_origin="https://staging.lego-moc.com",
        production=False,
        versioning=True,
        api_hostname="images-staging.lego-api.com",
        cdn_hostname="cdn.images-staging.lego-api.com",
    ),
    "production": _stage(
        "production",
        app_origin=None,
        production=True,
        versioning=True,
        api_hostname="images.lego-api.com",
        cdn_hostname="cdn.images.lego-api.com",
    ),
}

DEPLOYED_STAGES = ("dev", "staging", "production")
# On the local emulator: `local` is dev (the README's `make up`), without the provider's fixed
# waits; `local-production` is production with its exact resource shapes and data protection
# (prevent_destroy, deletion protection, PITR, versioning), to prove on the emulator that no
# routine command can destroy production data and that production's shapes apply cleanly.
EMULATOR_STAGES = {
    "local": EmulatorTwin(base="dev", skip_provider_waits=True),
    "local-production": EmulatorTwin(base="production", skip_provider_waits=False),
}
ALL_STAGES = DEPLOYED_STAGES + tuple(EMULATOR_STAGES)


def emulator_stage_settings(
    stage: str, *, endpoint: str | None = None, skip_provider_waits: bool | None = None
) -> StageSettings:
    """An emulator stage's validated settings; `endpoint` and `skip_provider_waits` override the
    environment's endpoint and the stage's own choice (the deployment tests use both)."""
    twin = EMULATOR_STAGES[stage]
    settings = _on_emulator(
        STAGES_BASE[twin.base],
        stage,
        skip_provider_waits=twin.skip_provider_waits
        if skip_provider_waits is None
        else skip_provider_waits,
    )
    if endpoint is not None:
        settings = replace(settings, emulator=EmulatorSettings(endpoint=endpoint))
    return validate_stage(settings)


def stage_settings(stage: str) -> StageSettings:
    """The validated settings of one stage; an unknown stage is a SettingsError."""
    if stage in EMULATOR_STAGES:
        return emulator_stage_settings(stage)
    if stage not in STAGES_BASE:
        raise SettingsError(
            stage, "stage", f"'{stage}' is not a known stage", "use one of " + ", ".join(ALL_STAGES)
        )
    return validate_stage(STAGES_BASE[stage])


# Restricts which stages are synthesized (comma-separated), e.g. for a quick local loop.
STAGES_ENV = "IMAGE_SERVICE_STAGES"


def selected_stages() -> tuple[str, ...]:
    raw = os.environ.get(STAGES_ENV, "").strip()
    if not raw:
        return ALL_STAGES
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    for name in names:
        if name not in ALL_STAGES:
            raise SettingsError(
                name,
                STAGES_ENV,
                f"'{name}' is not a known stage",
                f"set {STAGES_ENV} to a comma-separated subset of "
                + ", ".join(ALL_STAGES)
                + ", or unset it",
            )
    return names


def bootstrap_stack_name(settings: StageSettings) -> str:
    """The stack that creates the state bucket of the stage's account."""
    if settings.emulator:
        return EMULATOR_STATE_STACK
    return f"{STATE_STACK}-{settings.account.account_id}"


def load_stages(names: tuple[str, ...] = ALL_STAGES) -> list[StageSettings]:
    """Validate every stage up front, so a bad value stops the app before it writes anything."""
    return [stage_settings(name) for name in names]
