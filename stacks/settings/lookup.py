"""Finding a stage's validated settings by name, the selection from the environment, and the
app's table of stacks (stage stacks and state stacks, each with its settings)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from constructs_lib.errors import Problem
from constructs_lib.validation import first_per_setting
from stacks.errors import SettingsError
from stacks.settings import derived
from stacks.settings.emulator import (
    EMULATOR_ACCOUNT,
    EMULATOR_STAGES,
    emulator_problems,
    on_emulator,
    with_web_origin,
)
from stacks.settings.stages import (
    ACCOUNTS,
    DEPLOYED_STAGES,
    DERIVED,
    STAGE_TABLE,
    build_stage,
    placeholder_problems,
)
from stacks.settings.types import AccountSettings, StageSettings

ALL_STAGES = DEPLOYED_STAGES + tuple(EMULATOR_STAGES)
# Restricts which stages are synthesized (comma-separated), e.g. for a quick local loop.
STAGES_ENV = "IMAGE_SERVICE_STAGES"
# The stacks that create the Terraform state buckets: one per real account
# (image-service-state-<account id>), and the emulator's.
STATE_STACK = "image-service-state"
EMULATOR_STATE_STACK = "image-service-state-local"
# Where the bootstrap keeps its own state once its bucket exists, and before (a file beside it).
BOOTSTRAP_STATE_KEY = "image-service/bootstrap/terraform.tfstate"
LOCAL_STATE_FILE = "terraform.bootstrap.tfstate"


def validate_stage(settings: StageSettings) -> StageSettings:
    """The stage's settings if nothing is wrong with them; else one SettingsError naming every
    setting that is wrong (the first problem of each), each with its problem and fix."""
    problems = first_per_setting(
        [
            *settings.problems(),
            *emulator_problems(settings),
            *derived.name_problems(settings),
            *derived.date_problems(settings),
        ]
    )
    errors = [SettingsError(settings.stage, p.setting, p.problem, p.fix) for p in problems]
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise SettingsError.several(errors)
    return settings


def emulator_stage_settings(
    stage: str, *, endpoint: str | None = None, skip_provider_waits: bool | None = None
) -> StageSettings:
    """An emulator stage's validated settings; `endpoint` and `skip_provider_waits` override the
    environment's endpoint and the stage's own choice (the deployment tests and the bench use
    both)."""
    twin = EMULATOR_STAGES[stage]
    fast = twin.skip_provider_waits if skip_provider_waits is None else skip_provider_waits
    settings = build_stage(stage, STAGE_TABLE[twin.base], EMULATOR_ACCOUNT)
    if twin.web_origin:
        settings = with_web_origin(settings, twin.web_origin)
    if twin.versioned_bucket:
        settings = replace(settings, bucket=replace(settings.bucket, versioning=True))
    return validate_stage(on_emulator(settings, skip_provider_waits=fast, endpoint=endpoint))


# The emulator variant of a derived stage: `local-pr-7` is pr-7 on the emulator.
EMULATOR_DERIVED_PREFIX = "local-"


def derived_name(stage: str) -> str | None:
    """The derived stage `stage` is (itself, or for an emulator variant the one it stands for),
    or None for a stage of the tables."""
    if derived.kind(stage):
        return stage
    inner = stage.removeprefix(EMULATOR_DERIVED_PREFIX)
    if inner != stage and derived.kind(inner):
        return inner
    return None


def derived_stage_settings(stage: str, *, endpoint: str | None = None) -> StageSettings:
    """A derived stage's validated settings (stacks/settings/derived.py): dev's, in dev's
    account, or for `local-<derived>` on the emulator with the fast stage's shortcuts, except
    those that would leave something behind when it is destroyed."""
    name = derived_name(stage)
    assert name is not None
    on_the_emulator = name != stage
    account = EMULATOR_ACCOUNT if on_the_emulator else DERIVED.account
    base = build_stage(stage, STAGE_TABLE[DERIVED.base], account)
    settings = derived.derive(stage, base, account, DERIVED, derived_name=name)
    if on_the_emulator:
        settings = on_emulator(settings, skip_provider_waits=True, endpoint=endpoint)
    return validate_stage(settings)


def stage_settings(stage: str) -> StageSettings:
    """The validated settings of one stage; an unknown stage is a SettingsError."""
    if stage in EMULATOR_STAGES:
        return emulator_stage_settings(stage)
    if derived_name(stage):
        return derived_stage_settings(stage)
    if stage not in STAGE_TABLE:
        raise SettingsError(
            stage,
            "stage",
            f"'{stage}' is not a known stage",
            "use one of "
            + ", ".join(ALL_STAGES)
            + ", or a derived stage: pr-<number>, dev-<name> (local-pr-<number> on the emulator)",
        )
    return validate_stage(build_stage(stage, STAGE_TABLE[stage], ACCOUNTS[stage]))


def selected_stages() -> tuple[str, ...]:
    raw = os.environ.get(STAGES_ENV, "").strip()
    if not raw:
        return ALL_STAGES
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    for name in names:
        if name not in ALL_STAGES and not derived_name(name):
            raise SettingsError(
                name,
                STAGES_ENV,
                f"'{name}' is not a known stage",
                f"set {STAGES_ENV} to a comma-separated subset of "
                + ", ".join(ALL_STAGES)
                + " and derived stages (pr-<number>, dev-<name>), or unset it",
            )
    return names


def load_stages(names: tuple[str, ...] = ALL_STAGES) -> list[StageSettings]:
    """Validate every stage up front, so a bad value stops the app before it writes anything
    (each stage, then what stages may not share)."""
    stages = [stage_settings(name) for name in names]
    check_zone_claims(stages)
    return stages


def check_zone_claims(stages: list[StageSettings]) -> None:
    """No two real stages create one zone, or one inside the other's (each owns its names;
    the emulator stages are in the emulator's account and may mirror a real stage's)."""
    created = [
        (s.stage, s.domains.zone_name)
        for s in stages
        if s.emulator is None and s.domains is not None and s.domains.create_hosted_zone
    ]
    for i, (stage, zone) in enumerate(created):
        for other, other_zone in created[:i]:
            if (
                zone == other_zone
                or zone.endswith("." + other_zone)
                or other_zone.endswith("." + zone)
            ):
                raise SettingsError(
                    stage,
                    "domains.hosted_zone_name",
                    f"the zone '{zone}' and stage '{other}''s zone '{other_zone}' claim the same "
                    "names; each stage owns the zone of its own hostnames",
                    "give each stage hostnames under a zone of its own (e.g. "
                    "images-<stage>.lego-api.com)",
                )


def bootstrap_stack_name(settings: StageSettings) -> str:
    """The stack that creates the state bucket of the stage's account."""
    if settings.emulator:
        return EMULATOR_STATE_STACK
    return f"{STATE_STACK}-{settings.account.account_id}"


@dataclass(frozen=True)
class AppStack:
    """A stack of the app: a stage's (`kind` "stage") or the state bucket of an account's stages
    ("state"), with the settings of the stage it belongs to (for a state stack: the first of the
    account's stages)."""

    name: str
    kind: str
    settings: StageSettings

    @property
    def on_emulator(self) -> bool:
        return self.settings.emulator is not None

    @property
    def account(self) -> AccountSettings:
        return self.settings.account

    def placeholder_problems(self) -> list[Problem]:
        """What of the stack is still a shipped placeholder (a state stack, which bootstraps
        the account's CI identity, also the GitHub repository)."""
        return placeholder_problems(self.settings, bootstrap=self.kind == "state")


def app_stacks(stages: list[StageSettings]) -> dict[str, AppStack]:
    """The stacks an app of `stages` has, by name: each stage's, then each account's state
    stack (stacks/app.py builds exactly these; bin/cdktf resolves names through this table)."""
    table = {s.stack_name: AppStack(s.stack_name, "stage", s) for s in stages}
    for settings in stages:
        name = bootstrap_stack_name(settings)
        table.setdefault(name, AppStack(name, "state", settings))
    return table
