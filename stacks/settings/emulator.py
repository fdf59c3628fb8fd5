"""The local emulator (moto 5.2) as a target: what it cannot do like AWS, in one table, and the
emulator stages, each a real stage's settings moved onto the emulator with that table applied.

Each row of EMULATOR_TABLE is a setting, the value the emulator stages give it, and why
(measured facts: ../shared/EMULATOR.md). The emulator stages get every row (the fast `local`
also the rows that skip the AWS provider's fixed waits); a real stage that sets a row's value
is refused where the row says what that would do on AWS (the rows that are a choice a real
stage may also make, e.g. AWS's managed cache policy, are not). The reasons reach the
manifest as the organisation policy's waivers (stacks/image_service_stack.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from constructs_lib.domains.props import ZoneDelegation
from constructs_lib.errors import Problem
from constructs_lib.image_cdn.props import MANAGED_SECURITY_HEADERS_POLICY_ID
from stacks.settings.types import (
    AccountSettings,
    EmulatorSettings,
    StageSettings,
    StateBackendSettings,
)

# The port the local emulator prefers; `ops.local_aws` falls back to a free one and exports it.
LOCAL_ENDPOINT_ENV = "IMAGE_SERVICE_LOCAL_ENDPOINT"
DEFAULT_LOCAL_ENDPOINT = "http://127.0.0.1:5050"
# The emulator's credentials and account: moto accepts any key pair and answers as this account.
EMULATOR_ACCESS_KEY = "testing"
EMULATOR_SECRET_KEY = "testing"
EMULATOR_ACCOUNT_ID = "123456789012"
EMULATOR_ACCOUNT = AccountSettings(account_id=EMULATOR_ACCOUNT_ID)
LOCAL_STATE = StateBackendSettings(bucket="image-service-tfstate-local", region="us-east-1")
# Where a browser app under development is served (Vite's default): the local stage's API, CDN
# and bucket answer CORS for it too, so the app works against `make up`'s stack. Never a real
# stage's: that would let any page on a developer's machine call it with the user's token.
LOCAL_WEB_ORIGIN = "http://localhost:5173"
_DEVELOPER_MACHINE = re.compile(r"^https?://(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$")
# The sections whose CORS origins a browser app needs: the API, the CDN, uploads to the bucket.
WEB_ORIGIN_SECTIONS = ("api", "cdn", "bucket")

EMULATOR_BUCKET_POLICY_GAP = (
    "moto checks a bucket policy on every object request without the request's context, so a "
    "statement denying requests not made over TLS denies every upload and download; the "
    "emulator listens on 127.0.0.1 only"
)
EMULATOR_RESPONSE_HEADERS_GAP = (
    "moto has no CloudFront response-headers-policy API, so the emulator stages attach AWS's "
    "managed SecurityHeadersPolicy by id (security headers, no CORS)"
)
EMULATOR_BACKUP_SELECTION_GAP = (
    "moto 5.2 has AWS Backup's vaults, vault locks and plans but no CreateBackupSelection (nor "
    "backup jobs or recovery points), so the emulator stages back nothing up: the drill "
    "restores from DynamoDB's own backups and the bucket's versions instead (docs/recovery.md)"
)
# The account bootstrap's backup role on the emulator: moto loads no AWS managed policy unless
# asked (MOTO_IAM_LOAD_MANAGED_POLICIES, ~1,200 documents parsed per account), so attaching
# AWS Backup's service policies would fail; the role has none there, and no backup runs anyway.
EMULATOR_MANAGED_POLICIES_GAP = (
    "moto loads no AWS managed policy (MOTO_IAM_LOAD_MANAGED_POLICIES is off): AWS Backup's "
    "service policies cannot be attached to the backup role on the emulator"
)
EMULATOR_CACHE_GAP = (
    "moto 5.2 creates a replication group without its member cache clusters, so the AWS "
    "provider's read of aws_elasticache_replication_group fails after its 30 s create wait "
    "(DescribeCacheClusters: CacheClusterNotFound for <id>-001); it has no CreateUserGroup "
    "(IAM authentication), and its replication-group deletes never finish"
)
EMULATOR_API_DOMAIN_GAP = (
    "moto never reports an API Gateway custom domain name as AVAILABLE (it returns no "
    "DomainNameStatus), so the AWS provider's wait for it fails"
)
# moto 5.2 reads back a distribution unlike AWS: it returns an empty forwarded_values block
# although a cache policy is set, drops the origin's origin_access_control_id, reports
# ssl_support_method "sni-only" for the default certificate, and adds
# cloudfront_default_certificate=true to a viewer certificate that names an ACM certificate.
# None can be fixed in configuration AWS accepts.
_DISTRIBUTION_READ_BACK = (
    "origin",
    "default_cache_behavior[0].forwarded_values",
    "viewer_certificate[0].ssl_support_method",
)


def _drift_moto_reports(settings: StageSettings) -> tuple[str, ...]:
    if settings.domains is None:
        return _DISTRIBUTION_READ_BACK
    return (*_DISTRIBUTION_READ_BACK, "viewer_certificate[0].cloudfront_default_certificate")


def _delegation_on_the_emulator(settings: StageSettings) -> ZoneDelegation | None:
    delegation = settings.domains.delegation if settings.domains else None
    if delegation is None:
        return None
    return replace(
        delegation,
        parent_account_id=EMULATOR_ACCOUNT_ID,
        role_arn=None,
        read_role_arn=None,
        create_parent_zone=True,
    )


@dataclass(frozen=True)
class EmulatorRow:
    """A setting ("section.field", or "section" for a whole optional section), the value the
    emulator stages give it (or how to derive it from the stage), and why."""

    setting: str
    value: object | Callable[[StageSettings], object]
    reason: str
    #: What this value would do on AWS; a real stage setting it is refused. None: a choice a
    #: real stage may make too.
    on_aws: str | None = None
    #: Only the fast `local` stage (its waits are fixed sleeps of the AWS provider, not moto's
    #: speed: bench/results.md measures each); the faithful `local-production` keeps
    #: production's shapes to prove them.
    skips_provider_waits: bool = False
    #: A destroy would leave something behind: not for a disposable stage, which a destroy
    #: removes entirely.
    leaves_behind: bool = False

    def value_for(self, settings: StageSettings) -> object:
        return self.value(settings) if callable(self.value) else self.value


EMULATOR_TABLE = (
    EmulatorRow(
        "bucket.deny_insecure_transport",
        False,
        EMULATOR_BUCKET_POLICY_GAP,
        on_aws="the bucket would accept requests not made over TLS",
    ),
    EmulatorRow(
        "cdn.response_headers_policy_id",
        MANAGED_SECURITY_HEADERS_POLICY_ID,
        EMULATOR_RESPONSE_HEADERS_GAP,
        on_aws="browsers could not read images cross-origin (no CORS headers)",
    ),
    EmulatorRow(
        "cdn.origin_access",
        "OAC",
        "moto has no CloudFront origin-access-identity API",
    ),
    EmulatorRow(
        "cdn.cache_policy",
        "managed-caching-optimized",
        "moto has no CloudFront cache-policy API (AWS's managed CachingOptimized is used by id)",
    ),
    EmulatorRow(
        "cdn.ignore_drift_in",
        _drift_moto_reports,
        "moto reads back a distribution unlike AWS (an empty forwarded_values, no "
        "origin_access_control_id, ssl_support_method for the default certificate, and "
        "cloudfront_default_certificate added to an ACM viewer certificate)",
        on_aws="Terraform would not reconcile these attributes of the distribution",
    ),
    EmulatorRow(
        "domains.delegation",
        _delegation_on_the_emulator,
        "the emulator is one empty account: the parent zone is created there too, and the "
        "delegation is written in it without assuming the DNS account's role",
        on_aws="the stage would create its own undelegated copy of the parent zone",
    ),
    EmulatorRow(
        "domains.api_domain",
        False,
        EMULATOR_API_DOMAIN_GAP,
        on_aws="the API would have no custom domain",
    ),
    EmulatorRow("cache", None, EMULATOR_CACHE_GAP),
    EmulatorRow(
        "backups.ignore_drift_in",
        ("tags_all",),
        "moto 5.2 answers AWS Backup's ListTags only with a trailing slash (it reads the ARN "
        "from the path's last but one segment), which the AWS provider does not send: every "
        "vault's and plan's tags read back empty, and each plan would retag them",
        on_aws="Terraform would not reconcile the vaults' and the plan's default tags",
    ),
    EmulatorRow(
        "backups.selection",
        False,
        EMULATOR_BACKUP_SELECTION_GAP,
        on_aws="nothing would be backed up: the plan would select neither the table nor the bucket",
    ),
    EmulatorRow(
        "monitoring.budget",
        None,
        "moto 5.2 lacks Budgets' DescribeSubscribersForNotification, UpdateBudget and "
        "ListTagsForResource, so the provider cannot read an aws_budgets_budget back",
    ),
    EmulatorRow(
        "bucket.inline_lifecycle_rules",
        True,
        "aws_s3_bucket_lifecycle_configuration: on create the AWS provider reads the rules back "
        "until they match 10 times in a row, the first poll after 10 s, then every 5 s (55 s); "
        "the same rules inline on aws_s3_bucket are one PUT with no waiter, and moto stores "
        "identical rules",
        on_aws="the lifecycle rules would use aws_s3_bucket's deprecated inline block",
        skips_provider_waits=True,
    ),
    EmulatorRow(
        "cdn.enabled",
        False,
        "a distribution's destroy disables it and waits 30 s, then deletes it and waits 15 s; "
        "a disabled one has nothing to disable, and moto serves no content anyway",
        on_aws="the CDN would serve no images",
        skips_provider_waits=True,
    ),
    EmulatorRow(
        "cdn.retain_on_delete",
        True,
        "retained on delete, Terraform only forgets the distribution (no 15 s wait); the "
        "emulator keeps everything in memory, so a forgotten one is gone with it",
        on_aws="a destroyed stack would leave its distribution behind in the account",
        skips_provider_waits=True,
        leaves_behind=True,
    ),
    EmulatorRow(
        "monitoring.customer_managed_keys",
        False,
        "aws_kms_key: on create the AWS provider waits until the key's description, policy, "
        "rotation and tags each read back the same several times in a row, seconds apart "
        "(its kms/wait.go), however fast moto answers: make up took 35.8 s with the two keys, "
        "14.6 s without; the fast stage's topics use AWS's managed aws/sns key (moto never "
        "publishes an alarm anyway)",
        on_aws="the alarm topics would be under AWS's managed aws/sns key, to which CloudWatch "
        "cannot publish: no alarm would reach anyone",
        skips_provider_waits=True,
    ),
    EmulatorRow(
        "domains",
        None,
        "every Route53 change waits 10-30 s for INSYNC, one wait per dependency level (zone, "
        "validation records, alias records), though moto is in sync at once",
        skips_provider_waits=True,
    ),
)


def emulator_reason(setting: str) -> str:
    """Why the emulator stages set `setting` as they do (the row's reason)."""
    [row] = [row for row in EMULATOR_TABLE if row.setting == setting]
    return row.reason


def _get(settings: StageSettings, setting: str) -> object:
    value: object = settings
    for part in setting.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def _set(settings: StageSettings, setting: str, value: Any) -> StageSettings:
    section, _, field = setting.partition(".")
    if not field:
        return replace(settings, **{section: value})
    props = getattr(settings, section)
    if props is None:  # an optional section that is off: nothing to set
        return settings
    return replace(settings, **{section: replace(props, **{field: value})})


def _rows(skip_provider_waits: bool, disposable: bool = False) -> tuple[EmulatorRow, ...]:
    return tuple(
        r
        for r in EMULATOR_TABLE
        if (skip_provider_waits or not r.skips_provider_waits)
        and not (disposable and r.leaves_behind)
    )


def on_emulator(
    settings: StageSettings, skip_provider_waits: bool, endpoint: str | None = None
) -> StageSettings:
    """`settings` (built for the emulator stage's name in the emulator's account) with the
    emulator's state bucket and endpoint, and every row of the table (the fast rows if asked)
    applied: the rows with a value first, then those derived from the stage as it then is."""
    settings = replace(
        settings,
        state=LOCAL_STATE,
        emulator=EmulatorSettings(
            endpoint=endpoint or os.environ.get(LOCAL_ENDPOINT_ENV) or DEFAULT_LOCAL_ENDPOINT
        ),
    )
    rows = _rows(skip_provider_waits, settings.disposable)
    for row in [r for r in rows if not callable(r.value)] + [r for r in rows if callable(r.value)]:
        settings = _set(settings, row.setting, row.value_for(settings))
    return settings


def with_web_origin(settings: StageSettings, origin: str) -> StageSettings:
    """The stage with `origin` added to the API's, the CDN's and the bucket's CORS origins."""
    return replace(
        settings,
        **{
            name: replace(
                getattr(settings, name),
                cors_origins=(*getattr(settings, name).cors_origins, origin),
            )
            for name in WEB_ORIGIN_SECTIONS
        },
    )


def _developer_origin_problems(settings: StageSettings) -> list[Problem]:
    return [
        Problem(
            f"{name}.cors_origins",
            f"{origin!r} is a developer's machine; only the emulator's local stage answers it "
            "(a real stage would let any page on that machine call it with a user's token)",
            f"remove {origin!r} from this stage's {name}.cors_origins",
        )
        for name in WEB_ORIGIN_SECTIONS
        for origin in getattr(settings, name).cors_origins
        if _DEVELOPER_MACHINE.match(origin)
    ]


def _default(settings: StageSettings, setting: str) -> object:
    """The default of a section's field (its props class's)."""
    section, _, name = setting.partition(".")
    props = getattr(settings, section)
    [found] = [f.default for f in fields(props) if f.name == name]
    return found


def emulator_problems(settings: StageSettings) -> list[Problem]:
    """On a real stage: a row's emulator value where the row says what it would do on AWS. On
    an emulator stage: a row it needs but lacks (the rows that skip provider waits are the
    fast stage's choice, not a need)."""
    found = []
    if settings.emulator is None:
        found += _developer_origin_problems(settings)
        for row in EMULATOR_TABLE:
            value = _get(settings, row.setting)
            section = row.setting.partition(".")[0]
            if "." in row.setting and getattr(settings, section) is None:
                continue  # an optional section that is off sets nothing
            if row.on_aws and value == row.value_for(settings):
                default = _default(settings, row.setting)
                found.append(
                    Problem(
                        row.setting,
                        f"{value!r} is a shortcut for the local emulator only; on AWS {row.on_aws}",
                        f"remove {row.setting} from this stage's settings (the default is "
                        f"{default!r})",
                    )
                )
        return found
    for row in _rows(skip_provider_waits=False):
        wanted, value = row.value_for(settings), _get(settings, row.setting)
        section = row.setting.partition(".")[0]
        if value != wanted and getattr(settings, section) is not None:
            found.append(
                Problem(
                    row.setting,
                    f"the emulator cannot take {value!r}: {row.reason}",
                    f"set {row.setting}={wanted!r} for an emulator stage (the emulator table, "
                    "stacks/settings/emulator.py)",
                )
            )
    return found


@dataclass(frozen=True)
class EmulatorTwin:
    """A stage on the local emulator: the settings of the real stage `base`, moved there."""

    base: str
    # True: the fast local loop (no fixed provider waits); False: `base`'s exact resource
    # shapes, to prove them on the emulator.
    skip_provider_waits: bool
    # A browser app's origin under development that the stage answers CORS for besides the
    # base's (LOCAL_WEB_ORIGIN). None: none.
    web_origin: str | None = None
    # The bucket keeps versions even where the base keeps none: `make drill` (ops/drill.py)
    # restores deleted and overwritten images on `make up`'s stack from their versions, and a
    # developer can try `restore images` there. Default: as the base.
    versioned_bucket: bool = False


# On the local emulator: `local` is dev (the README's `make up`), without the provider's fixed
# waits; `local-production` is production with its exact resource shapes and data protection
# (prevent_destroy, deletion protection, PITR, versioning), to prove on the emulator that no
# routine command can destroy production data and that production's shapes apply cleanly.
EMULATOR_STAGES = {
    "local": EmulatorTwin(
        base="dev", skip_provider_waits=True, web_origin=LOCAL_WEB_ORIGIN, versioned_bucket=True
    ),
    "local-production": EmulatorTwin(base="production", skip_provider_waits=False),
}
