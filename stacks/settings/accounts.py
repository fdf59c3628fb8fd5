"""The accounts and what each one's bootstrap creates: the account's Terraform state bucket, its
CI identity (a deploy role per stage of the account, the review role, the boundary), and in the
account that holds the parent zone, the stages' DNS delegation roles.

    python -m ops.bootstrap dev        the account of dev (also staging, production, local)
    python -m ops.bootstrap previews   the account of the preview and personal stages
    python -m ops.bootstrap dns        the account that holds lego-api.com (local-dns: emulator)

Each real stage has an account of its own, and the preview and personal stages one more: IAM
can keep a role to its own stage's resources by name or tag for most services, but not for an
HTTP API's routes, integrations and authorizers (API Gateway's V2 resources other than the API
and its stages carry no tags and inherit none: API Gateway's docs, "API Gateway resources that
can be tagged"; their ARNs name only generated ids) nor CloudFront's origin access controls,
cache and response-headers policies (no tags, no names in their ARNs: the Service
Authorization Reference lists no condition key for them). Between accounts a role reaches
nothing at all unless a resource's own policy trusts it, and none here trusts another account.
So two real stages in one account, or the preview stages in a real stage's account, are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.ci_identity.props import (
    DEPLOY_ROLE_PREFIX,
    REVIEW_ROLE,
    CiIdentityProps,
    DeployScope,
)
from constructs_lib.dns_delegation.props import DelegatedZone, DnsDelegationProps
from constructs_lib.errors import Problem
from stacks.errors import SettingsError
from stacks.settings.emulator import EMULATOR_ACCOUNT, EMULATOR_STAGES, LOCAL_STATE
from stacks.settings.lookup import (
    EMULATOR_DERIVED_PREFIX,
    EMULATOR_STATE_STACK,
    STATE_STACK,
    derived_name,
    emulator_stage_settings,
    stage_settings,
)
from stacks.settings.stages import (
    ACCOUNTS,
    DEPLOYED_STAGES,
    DERIVED,
    DNS_ACCOUNT,
    DNS_PARENT,
    GITHUB_REPOSITORY,
    PLACEHOLDER_ACCOUNT_IDS,
    repository_placeholder_problems,
    state_bucket,
)
from stacks.settings.types import (
    AccountSettings,
    EmulatorSettings,
    StageSettings,
    StateBackendSettings,
)

# The names `python -m ops.bootstrap` takes besides a stage's: the preview stages' account, and
# the account that holds the parent zone (on AWS and on the emulator).
PREVIEWS = "previews"
DNS = "dns"
EMULATOR_DNS = "local-dns"
# The GitHub environment whose deploy role creates and removes the derived stages (a pull
# request's preview, and the nightly clean-up of previews and personal stages).
PREVIEW_ENVIRONMENT = "preview"
# The DNS account's delegation roles: a stack of their own, with its state in that account's
# state bucket.
DNS_STACK = "image-service-dns"
DNS_STATE_KEY = "image-service/dns/terraform.tfstate"


def deploy_role_arn(account_id: str, stage: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{DEPLOY_ROLE_PREFIX}{stage}"


def review_role_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{REVIEW_ROLE}"


@dataclass(frozen=True)
class AccountSetup:
    """What one account's bootstrap applies: its state stack (the state bucket and, where the
    account has stages, its CI identity) and, in the DNS account, the delegation roles."""

    #: What `ops.bootstrap` was given: a stage, `previews`, `dns` or `local-dns`.
    name: str
    account: AccountSettings
    state: StateBackendSettings
    emulator: EmulatorSettings | None
    #: The account's CI identity. None: the account has no stage (the DNS account alone).
    identity: CiIdentityProps | None
    #: The delegation roles, for `dns` and `local-dns`. None: none here.
    dns: DnsDelegationProps | None = None

    @property
    def on_emulator(self) -> bool:
        return self.emulator is not None

    @property
    def stack_name(self) -> str:
        """The account's state stack (the state bucket and the CI identity)."""
        if self.emulator:
            return EMULATOR_STATE_STACK
        return f"{STATE_STACK}-{self.account.account_id}"

    @property
    def dns_stack_name(self) -> str:
        return f"{DNS_STACK}-{'local' if self.emulator else self.account.account_id}"

    def placeholder_problems(self) -> list[Problem]:
        """What is still a shipped placeholder: the account, and the GitHub repository its CI
        identity trusts."""
        if self.emulator:
            return []
        found = []
        account = self.account.account_id
        if account in PLACEHOLDER_ACCOUNT_IDS:
            setting = _account_setting(self.name)
            found.append(
                Problem(
                    setting,
                    f"{account} is the placeholder shipped with the project, not the account's id",
                    f"set {setting} in stacks/settings/stages.py to the account's 12 digits",
                )
            )
        for zone in self.dns.zones if self.dns else ():
            # A writer trusts its stage's deploy role, in the stage's account.
            stage_account = zone.deploy_role_arn.split(":")[4]
            if stage_account in PLACEHOLDER_ACCOUNT_IDS:
                found.append(
                    Problem(
                        f"ACCOUNTS[{zone.stage!r}]",
                        f"{stage_account} is the placeholder shipped with the project, not "
                        f"{zone.stage}'s account, whose deploy role the writer trusts",
                        f"set ACCOUNTS[{zone.stage!r}] in stacks/settings/stages.py",
                    )
                )
        if self.identity is not None:
            found += repository_placeholder_problems()
        return found


def _account_setting(name: str) -> str:
    if name == PREVIEWS:
        return "PREVIEWS_ACCOUNT"
    if name == DNS:
        return "DNS_ACCOUNT_ID"
    return f"ACCOUNTS[{name!r}]"


def check_accounts() -> None:
    """Every real stage in an account of its own, and the preview stages in one more."""
    owners: dict[str, str] = {}
    for stage in DEPLOYED_STAGES:
        account = ACCOUNTS[stage].account_id
        if account in owners:
            raise SettingsError(
                stage,
                f"ACCOUNTS[{stage!r}]",
                f"{account} is also {owners[account]}'s account: each stage's deploy role "
                f"could change the other's HTTP API routes and CloudFront policies, which IAM "
                f"cannot scope inside one account (stacks/settings/accounts.py says why)",
                "give each real stage an AWS account of its own",
            )
        owners[account] = stage
    previews = DERIVED.account.account_id
    if previews in owners:
        raise SettingsError(
            PREVIEWS,
            "PREVIEWS_ACCOUNT",
            f"{previews} is {owners[previews]}'s account: a pull request's code deploys the "
            "preview stages, and IAM cannot keep their role from that stage's HTTP API routes "
            "and CloudFront policies inside one account (stacks/settings/accounts.py says why)",
            "give the preview and personal stages an AWS account of their own "
            "(PREVIEWS_ACCOUNT in stacks/settings/stages.py)",
        )


def _scope(settings: StageSettings) -> DeployScope:
    return DeployScope(
        stage=settings.stage,
        name=settings.stack_name,
        table_name=settings.table.name,
        bucket_name=settings.bucket.name,
        state_key=settings.state_key,
        region=settings.region,
        record_names=(settings.domains.zone_name, f"*.{settings.domains.zone_name}")
        if settings.domains is not None
        else (),
        dns_role_arn=settings.domains.delegation.role_arn
        if settings.domains is not None and settings.domains.delegation is not None
        else None,
    )


def derived_scopes(base: StageSettings, prefixes: tuple[str, ...]) -> tuple[DeployScope, ...]:
    """The preview role's scopes: every `pr-*` and `dev-*` stage's names, as patterns."""
    return tuple(
        DeployScope(
            stage=PREVIEW_ENVIRONMENT,
            name=f"image-service-{prefix}-*",
            table_name=f"ImageMetadata-{prefix}-*",
            bucket_name=f"images-lego-moc-{prefix}-*",
            state_key=f"image-service/{prefix}-*/terraform.tfstate",
            region=base.region,
            record_names=(f"{prefix}-*.{DERIVED.zone_name}", f"*.{prefix}-*.{DERIVED.zone_name}")
            if DERIVED.zone_name
            else (),
            # Only what a derived stage can have (stacks/settings/derived.py turns the rest off).
            concerns=("domains",) if DERIVED.zone_name else (),
        )
        for prefix in prefixes
    )


def _identity(
    account: AccountSettings,
    state: StateBackendSettings,
    stages: list[StageSettings],
    scopes: tuple[DeployScope, ...],
) -> CiIdentityProps:
    for problem in GITHUB_REPOSITORY.problems():
        raise SettingsError(account.account_id, "GITHUB_REPOSITORY", problem.problem, problem.fix)
    dns_read = next(
        (
            s.domains.delegation.read_role_arn
            for s in stages
            if s.domains and s.domains.delegation and s.domains.delegation.read_role_arn
        ),
        None,
    )
    return CiIdentityProps(
        repository=GITHUB_REPOSITORY,
        account_id=account.account_id,
        stages=tuple(_scope(s) for s in stages) + scopes,
        state_bucket=state.bucket,
        dns_read_role_arn=dns_read,
    )


def _emulator_setup(
    name: str, dns: DnsDelegationProps | None = None, emulator: EmulatorSettings | None = None
) -> AccountSetup:
    """The emulator's one account; `emulator`: the endpoint its stages were given (default:
    the environment's)."""
    endpoint = emulator.endpoint if emulator else None
    stages = [emulator_stage_settings(stage, endpoint=endpoint) for stage in EMULATOR_STAGES]
    base = stages[0]
    prefixes = tuple(f"{EMULATOR_DERIVED_PREFIX}{p}" for p in ("pr", "dev"))
    identity = _identity(EMULATOR_ACCOUNT, LOCAL_STATE, stages, derived_scopes(base, prefixes))
    return AccountSetup(name, EMULATOR_ACCOUNT, LOCAL_STATE, base.emulator, identity, dns)


def _dns_props(stages: list[StageSettings], account_id: str, emulator: bool) -> DnsDelegationProps:
    zones = tuple(
        DelegatedZone(
            stage=s.stage,
            zone_name=s.domains.zone_name,
            deploy_role_arn=deploy_role_arn(s.account.account_id, s.stage),
        )
        for s in stages
        if s.domains is not None and s.domains.delegation is not None
    )
    readers = tuple(
        dict.fromkeys(review_role_arn(s.account.account_id) for s in stages if s.domains)
    )
    return DnsDelegationProps(
        parent_zone_name=DNS_PARENT.parent_zone_name,
        account_id=account_id,
        zones=zones,
        readers=readers,
        create_parent_zone=emulator,
    )


def account_setup(name: str) -> AccountSetup:
    """The bootstrap of the account `name` names: a stage's account, `previews`, `dns`, or on
    the emulator `local` (its one account) and `local-dns`."""
    if name in EMULATOR_STAGES:
        return _emulator_setup(name)
    if name == EMULATOR_DNS:
        stages = [emulator_stage_settings(stage) for stage in EMULATOR_STAGES]
        return _emulator_setup(name, _dns_props(stages, EMULATOR_ACCOUNT.account_id, True))
    check_accounts()
    if name == DNS:
        stages = [stage_settings(stage) for stage in DEPLOYED_STAGES]
        owner = next((s for s in DEPLOYED_STAGES if ACCOUNTS[s] == DNS_ACCOUNT), None)
        setup = account_setup(owner) if owner else _bare(DNS, DNS_ACCOUNT)
        props = _dns_props(stages, DNS_ACCOUNT.account_id, False)
        return AccountSetup(DNS, setup.account, setup.state, None, setup.identity, props)
    if name == PREVIEWS:
        base = stage_settings(DERIVED.base)
        scopes = derived_scopes(base, ("pr", "dev"))
        return AccountSetup(
            PREVIEWS,
            DERIVED.account,
            state_bucket(DERIVED.account),
            None,
            _identity(DERIVED.account, state_bucket(DERIVED.account), [], scopes),
        )
    if name not in DEPLOYED_STAGES and not derived_name(name):
        raise SettingsError(
            name,
            "account",
            f"{name!r} names no account",
            "use a stage (" + ", ".join((*DEPLOYED_STAGES, *EMULATOR_STAGES)) + f") for its "
            f"account, {PREVIEWS!r} for the account of the preview and personal stages, or "
            f"{DNS!r} for the one that holds {DNS_PARENT.parent_zone_name} "
            f"({EMULATOR_DNS!r} on the emulator)",
        )
    settings = stage_settings(name)
    if name not in DEPLOYED_STAGES:
        return account_setup(PREVIEWS)  # a derived stage: the previews account
    identity = _identity(settings.account, settings.state, [settings], ())
    return AccountSetup(name, settings.account, settings.state, None, identity)


def _bare(name: str, account: AccountSettings) -> AccountSetup:
    """An account with no stage: its state bucket only."""
    return AccountSetup(name, account, state_bucket(account), None, None)


def setup_of(settings: StageSettings) -> AccountSetup:
    """The bootstrap of the account `settings` lives in."""
    if settings.emulator:
        return _emulator_setup(settings.stage, emulator=settings.emulator)
    return account_setup(settings.stage)
