"""The stage a restore works on: its table and bucket, and AWS clients that reach them (the
emulator's for an emulator stage; the stage's own account, checked, for a real one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ops import local_aws
from ops.action_log import RESTORE_AGENT
from stacks.errors import ImageServiceError, WrongAccount
from stacks.settings import EMULATOR_STAGES, StageSettings, emulator_stage_settings, stage_settings


class RestoreError(ImageServiceError):
    """A restore cannot run as asked; the message names the problem and the fix (exit 2)."""


@dataclass(frozen=True)
class Target:
    settings: StageSettings
    client: Callable[[str], Any]

    @property
    def stage(self) -> str:
        return self.settings.stage


def target(stage: str, endpoint: str | None = None) -> Target:
    """The stage's settings and a client factory for its account (unknown stage: SettingsError)."""
    if stage in EMULATOR_STAGES:
        endpoint = endpoint or _running_emulator()
        settings = emulator_stage_settings(stage, endpoint=endpoint)
        return Target(
            settings,
            lambda service: local_aws.client(
                service, endpoint, region=settings.region, agent=RESTORE_AGENT
            ),
        )
    settings = stage_settings(stage)
    _refuse_placeholders(settings)
    session = _session(settings)
    return Target(
        settings,
        lambda service: session.client(
            service, region_name=settings.region, config=_agent_config()
        ),
    )


def _running_emulator() -> str:
    emulator = local_aws.status()
    if emulator is None:
        raise RestoreError(
            "the local AWS emulator is not running, so there is no emulator stage to restore",
            "run `make up` (the emulator keeps everything in memory: a stopped one has nothing "
            "left to restore)",
        )
    return emulator.endpoint


def _refuse_placeholders(settings: StageSettings) -> None:
    from stacks.settings.stages import placeholder_problems

    found = placeholder_problems(settings)
    if found:
        raise RestoreError(
            f"{settings.stack_name} still uses the project's placeholders ("
            + "; ".join(f"`{p.setting}`: {p.problem}" for p in found)
            + "); nothing was contacted",
            "; ".join(p.fix for p in found) + " (docs/first-deploy.md)",
        )


def _agent_config() -> Any:
    from botocore.config import Config

    return Config(user_agent_extra=RESTORE_AGENT)


def _session(settings: StageSettings) -> Any:
    """The stage's profile or role, checked to act in the stage's own account."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ops.derived import session_for

    try:
        session = session_for(settings)
        actual = session.client("sts", config=_agent_config()).get_caller_identity()["Account"]
    except (BotoCoreError, ClientError) as exc:
        raise RestoreError(
            f"no usable AWS credentials for {settings.stack_name}'s account "
            f"{settings.account.account_id} ({exc}); nothing was changed",
            "sign in to that account (its profile or role, e.g. `aws sso login`), then run again",
        ) from None
    if actual != settings.account.account_id:
        raise WrongAccount(settings.stack_name, [settings.account.account_id], actual)
    return session


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 time with its zone (2026-12-07T09:30:00Z), not in the future."""
    now = now or datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise RestoreError(
            f"{text!r} is not a point in time with its zone",
            "give an ISO 8601 time with its zone, e.g. 2026-12-07T09:30:00Z (UTC) or "
            "2026-12-07T10:30:00+01:00",
        )
    if when > now:
        raise RestoreError(
            f"{when.isoformat()} is in the future (it is {now.isoformat(timespec='seconds')})",
            "give a time before the accident",
        )
    return when.astimezone(UTC)
