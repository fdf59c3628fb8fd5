"""The stages, as a table of what each sets differently from the props' defaults.

A stage's sections start as their props' defaults (constructs_lib/<concern>/props.py: the usual,
and the safe choice for data), named for the stage; each row of STAGE_TABLE then says only what
that stage changes, section by section (a field name a props does not have is an error, not a
setting silently dropped). "Staging and production" is two rows saying the same thing; no flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields, replace
from typing import Any

from constructs_lib.backups.props import BackupsChanges, BackupsProps
from constructs_lib.cache.props import CacheChanges, CacheProps
from constructs_lib.ci_identity.props import GitHubRepository
from constructs_lib.dns_delegation.props import dns_reader_role_arn, dns_writer_role_arn
from constructs_lib.domains.props import CustomDomainsProps, ZoneDelegation
from constructs_lib.errors import Problem
from constructs_lib.image_api.props import API_CORS_ORIGINS, ImageApiChanges, ImageApiProps
from constructs_lib.image_bucket.props import ImageBucketChanges, ImageBucketProps
from constructs_lib.image_cdn.props import CdnAccessLogs, ImageCdnChanges, ImageCdnProps
from constructs_lib.metadata_table.props import MetadataTableChanges, MetadataTableProps
from constructs_lib.monitoring.props import (
    Budget,
    MonitoringChanges,
    MonitoringProps,
    Subscription,
)
from constructs_lib.network.props import FlowLogs, NetworkChanges, NetworkProps
from constructs_lib.user_auth.props import UserAuthChanges, UserAuthProps, UserPoolEmail
from constructs_lib.validation import SET_BY_THE_STACK
from constructs_lib.waf.props import WebAclChanges, WebAclProps
from stacks.errors import SettingsError
from stacks.settings.derived import DerivedStages
from stacks.settings.types import AccountSettings, StageSettings, StateBackendSettings, stack_name

# The AWS accounts of the real stages. PLACEHOLDERS: set each stage's account id (and, if its
# credentials come from a role or a named profile, role_arn/profile) before its first deploy;
# every provider of the stage then refuses to touch any other account.
# Shipped in place of real values: every command that would contact AWS refuses them
# (placeholder_problems) until they are set.
PLACEHOLDER_ACCOUNT_IDS = frozenset(
    {"111111111111", "222222222222", "333333333333", "444444444444", "555555555555"}
)
PLACEHOLDER_REPOSITORY = "your-org/image-service"
ACCOUNTS = {
    "dev": AccountSettings(account_id="111111111111"),
    "staging": AccountSettings(account_id="222222222222"),
    "production": AccountSettings(account_id="333333333333"),
}


# The GitHub repository whose workflows deploy and review the stages, as its OIDC token names
# it (PLACEHOLDER: set it before bootstrapping an account; constructs_lib/ci_identity/props.py
# says which form).
GITHUB_REPOSITORY = GitHubRepository(PLACEHOLDER_REPOSITORY)
# The account of the preview and personal stages (pr-<number>, dev-<name>), derived from dev
# (PLACEHOLDER: set its id): an account of their own, because a pull request's code deploys
# them and IAM cannot keep their role from a real stage's HTTP API routes and CloudFront
# policies inside one account (stacks/settings/accounts.py says why).
PREVIEWS_ACCOUNT = AccountSettings(account_id="555555555555")
# The account that holds the apex zone lego-api.com (PLACEHOLDER: set its id). Its bootstrap
# (`python -m ops.bootstrap dns`) creates a writer role per stage, through which only that
# stage's deploy role writes only its own zone's NS record, and a reader for review plans
# (constructs_lib/dns_delegation/).
DNS_ACCOUNT_ID = "444444444444"
DNS_ACCOUNT = AccountSettings(account_id=DNS_ACCOUNT_ID)
DNS_PARENT = ZoneDelegation(
    parent_zone_name="lego-api.com", parent_account_id=DNS_ACCOUNT_ID, role_arn=None
)
# Production's users get their mail from our own SES identity (PLACEHOLDER: verify the domain
# in SES in production's account first).
PRODUCTION_EMAIL = UserPoolEmail(
    source_arn=f"arn:aws:ses:us-east-1:{ACCOUNTS['production'].account_id}:identity/lego-moc.com",
    from_address="no-reply@lego-moc.com",
)


def state_bucket(account: AccountSettings) -> StateBackendSettings:
    """Each account keeps its stages' Terraform state in a bucket of its own, so dev and
    production state are separated by account and IAM (the bootstrap stack creates it)."""
    return StateBackendSettings(
        bucket=f"lego-moc-image-service-tfstate-{account.account_id}", region="us-east-1"
    )


@dataclass(frozen=True)
class StageRow:
    """What one stage sets differently from the defaults."""

    #: The API's and the CDN's hostnames (SPEC: images[-stage].lego-api.com, cdn.<that>), in
    #: the stage's own zone (named as the API's hostname), delegated from lego-api.com.
    api_hostname: str
    cdn_hostname: str
    #: How the stage's zone is reached. None: look up a zone the stage's account holds already
    #: (no delegation). Default: a zone of the stage's own, delegated from DNS_PARENT.
    delegation: ZoneDelegation | None = DNS_PARENT
    #: The stage's own browser app, whose origin the API's and the CDN's CORS answer besides
    #: the app's public ones (API_CORS_ORIGINS). Default: none.
    app_origin: str | None = None
    protect_data: bool = True
    #: Fields of a section, changed from its props' defaults: each section's Changes, which
    #: mypy checks (a field the props lack, a value of the wrong type, a field the stack sets).
    table: MetadataTableChanges = field(default_factory=lambda: MetadataTableChanges())
    bucket: ImageBucketChanges = field(default_factory=lambda: ImageBucketChanges())
    cdn: ImageCdnChanges = field(default_factory=lambda: ImageCdnChanges())
    api: ImageApiChanges = field(default_factory=lambda: ImageApiChanges())
    auth: UserAuthChanges = field(default_factory=lambda: UserAuthChanges())
    monitoring: MonitoringChanges = field(default_factory=lambda: MonitoringChanges())
    #: The stage's monthly budget in US dollars (the stage's tagged cost).
    budget_usd: float = 100.0
    #: The WAF web ACL in front of the CDN: None off; else the changes to its defaults
    #: ({} for WebAclProps' defaults).
    waf: WebAclChanges | None = None
    #: The private network (NetworkProps) and the Valkey cache in it (CacheProps), each None
    #: off or the changes to its defaults. The story: "Redis: staging/production only
    #: (optional in dev)"; a developer who needs it in dev sets both to {}.
    network: NetworkChanges | None = None
    cache: CacheChanges | None = None
    #: AWS Backup of the table and the bucket (BackupsProps): None off, or the changes to its
    #: defaults. The SPEC: staging and production.
    backups: BackupsChanges | None = None


# Who the alarms of staging and production reach.
ALERTS = (Subscription("email", "image-service-alerts@lego-moc.com"),)

STAGE_TABLE = {
    "dev": StageRow(
        api_hostname="images-dev.lego-api.com",
        cdn_hostname="cdn.images-dev.lego-api.com",
        app_origin="https://dev.lego-moc.com",
        protect_data=False,
        table={"point_in_time_recovery": False},
        bucket={"versioning": False},  # SPEC: dev keeps no old versions
        budget_usd=50.0,
    ),
    "staging": StageRow(
        api_hostname="images-staging.lego-api.com",
        cdn_hostname="cdn.images-staging.lego-api.com",
        app_origin="https://staging.lego-moc.com",
        protect_data=False,
        table={"point_in_time_recovery": False},
        monitoring={"subscriptions": ALERTS},
        budget_usd=100.0,
        waf={"log_retention_days": 14},
        network={},
        cache={},
        backups={},
    ),
    "production": StageRow(
        api_hostname="images.lego-api.com",
        cdn_hostname="cdn.images.lego-api.com",
        cdn={"access_logs": CdnAccessLogs()},  # standard logging v2, kept 90 days
        # Burst at least the rate (validated): twice it, to absorb spikes.
        api={
            "throttling_burst_limit": 2000,
            "throttling_rate_limit": 1000.0,
            "access_log_retention_days": 90,
        },
        auth={"email": PRODUCTION_EMAIL},
        monitoring={"subscriptions": ALERTS},
        budget_usd=500.0,
        # WAF's request logs, kept as long as the CDN's.
        waf={"log_retention_days": 90},
        # Who talked to what inside the network, kept as long as the other access logs.
        network={"flow_logs": FlowLogs(retention_days=90)},
        # A week of daily snapshots to warm a replacement cache.
        cache={"snapshot_retention_days": 7},
        backups={},
    ),
}
DEPLOYED_STAGES = tuple(STAGE_TABLE)
# The stages derived from dev by their names alone (stacks/settings/derived.py): pr-<number>
# for a pull request's preview, dev-<name> for a developer's own.
DERIVED = DerivedStages(base="dev", account=PREVIEWS_ACCOUNT, log_retention_days=3)


def build_stage(stage: str, row: StageRow, account: AccountSettings) -> StageSettings:
    """The stage named `stage` in `account`: every section at its props' defaults, named for
    the stage, with the row's changes (refused, all at once, where a change names a field its
    props lack or one the stack sets)."""
    refused = row_problems(stage, row)
    if refused:
        raise SettingsError.several(refused)
    origins = API_CORS_ORIGINS + ((row.app_origin,) if row.app_origin else ())
    monitoring = MonitoringProps(
        name=stack_name(stage),
        budget=Budget(
            monthly_usd=row.budget_usd, tags={"Service": "image-service", "Stage": stage}
        ),
    )
    defaults = StageSettings(
        stage=stage,
        account=account,
        state=state_bucket(account),
        table=MetadataTableProps(name=f"ImageMetadata-{stage}"),
        bucket=ImageBucketProps(name=f"images-lego-moc-{stage}"),
        cdn=ImageCdnProps(name=stack_name(stage), cors_origins=origins),
        api=ImageApiProps(name=stack_name(stage), cors_origins=origins),
        auth=UserAuthProps(name=f"image-service-{stage}"),
        domains=CustomDomainsProps(
            api_hostname=row.api_hostname,
            cdn_hostname=row.cdn_hostname,
            create_hosted_zone=row.delegation is not None,
            delegation=_delegation(row.delegation, stage),
        ),
        monitoring=replace(monitoring, **row.monitoring),
        waf=_optional(WebAclProps(name=f"{stack_name(stage)}-cdn"), row.waf),
        network=_optional(NetworkProps(name=stack_name(stage)), row.network),
        cache=_optional(CacheProps(name=stack_name(stage)), row.cache),
        backups=_optional(BackupsProps(name=stack_name(stage)), row.backups),
        protect_data=row.protect_data,
    )
    return replace(
        defaults,
        table=replace(defaults.table, **row.table),
        bucket=replace(defaults.bucket, **row.bucket),
        cdn=replace(defaults.cdn, **row.cdn),
        api=replace(defaults.api, **row.api),
        auth=replace(defaults.auth, **row.auth),
    )


# Each section of a row, and the props its changes apply to.
ROW_SECTIONS = {
    "table": MetadataTableProps,
    "bucket": ImageBucketProps,
    "cdn": ImageCdnProps,
    "api": ImageApiProps,
    "auth": UserAuthProps,
    "monitoring": MonitoringProps,
    "waf": WebAclProps,
    "network": NetworkProps,
    "cache": CacheProps,
    "backups": BackupsProps,
}


def row_problems(stage: str, row: StageRow) -> list[SettingsError]:
    """What a row changes that is not a setting: a field its section's props lack, or one the
    stack sets (its metadata says from what). mypy refuses both in the stage table; this says
    so in one paragraph for a row built at run time."""
    found = []
    for section, props in ROW_SECTIONS.items():
        changes: Mapping[str, object] = getattr(row, section) or {}
        known = {f.name: f for f in fields(props)}
        for name in changes:
            setting = f"{section}.{name}"
            if name not in known or name == "name":
                found.append(
                    SettingsError(
                        stage,
                        setting,
                        f"{props.__name__} has no setting {name!r}",
                        "use one of "
                        + ", ".join(n for n, f in known.items() if _settable(f))
                        + " (the section's Changes in its props.py)",
                    )
                )
            elif SET_BY_THE_STACK in known[name].metadata:
                found.append(
                    SettingsError(
                        stage,
                        setting,
                        f"is not a setting: the stack sets it from "
                        f"{known[name].metadata[SET_BY_THE_STACK]}",
                        f"remove {name!r} from the row's `{section}`",
                    )
                )
    return found


def _settable(f: Field[Any]) -> bool:
    return f.name != "name" and SET_BY_THE_STACK not in f.metadata


def _delegation(parent: ZoneDelegation | None, stage: str) -> ZoneDelegation | None:
    """The stage's delegation from `parent`, through the stage's own writer role in the parent's
    account and the reader for review plans (the DNS account's bootstrap creates both)."""
    if parent is None or parent.role_arn is not None:
        return parent
    account = parent.parent_account_id
    return replace(
        parent,
        role_arn=dns_writer_role_arn(account, stage),
        read_role_arn=dns_reader_role_arn(account),
    )


def _optional(props: Any, changes: Mapping[str, Any] | None) -> Any:
    """An optional section: None when the row leaves it off, else its props with the row's
    changes."""
    return None if changes is None else replace(props, **changes)


def placeholder_problems(settings: StageSettings, bootstrap: bool = False) -> list[Problem]:
    """What of a real stage is still a shipped placeholder: its account, the DNS account its
    zone is delegated from and, for its account's bootstrap, the GitHub repository. Each names
    the setting to edit (docs/first-deploy.md)."""
    found = []
    account = settings.account.account_id
    # A derived stage (pr-<number>, dev-<name>) lives in the previews account.
    setting = f"ACCOUNTS[{settings.stage!r}]" if settings.stage in ACCOUNTS else "PREVIEWS_ACCOUNT"
    if account in PLACEHOLDER_ACCOUNT_IDS:
        found.append(
            Problem(
                setting,
                f"{account} is the placeholder shipped with the project, not the stage's AWS "
                "account",
                f"set {setting} = AccountSettings(account_id='<its 12 "
                "digits>') in stacks/settings/stages.py",
            )
        )
    delegation = settings.domains.delegation if settings.domains else None
    if not bootstrap and delegation and delegation.parent_account_id in PLACEHOLDER_ACCOUNT_IDS:
        found.append(
            Problem(
                "DNS_ACCOUNT_ID",
                f"{delegation.parent_account_id} is the placeholder for the account that holds "
                f"{delegation.parent_zone_name}",
                "set DNS_ACCOUNT_ID in stacks/settings/stages.py to that account's 12 digits",
            )
        )
    if bootstrap:
        found += repository_placeholder_problems()
    return found


def repository_placeholder_problems() -> list[Problem]:
    """The GitHub repository, if it is still the shipped placeholder (an account's bootstrap
    makes its roles trust it)."""
    if GITHUB_REPOSITORY.slug != PLACEHOLDER_REPOSITORY:
        return []
    return [
        Problem(
            "GITHUB_REPOSITORY",
            f"{PLACEHOLDER_REPOSITORY!r} is the placeholder for the repository whose "
            "workflows may assume the account's roles",
            "set GITHUB_REPOSITORY = GitHubRepository('<owner>/<name>') in "
            "stacks/settings/stages.py",
        )
    ]
