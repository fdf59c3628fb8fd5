"""The app's stacks as the commands find them: by name, through the app's own table of stacks
and their settings (stacks.settings.app_stacks: each stage's stack, then each account's state
stack), never by taking a stack's name apart. And whether one can be planned here without
contacting anything.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from constructs_lib.errors import Problem
from stacks.errors import ImageServiceError, ToolchainError
from stacks.settings import (
    LOCAL_ENDPOINT_ENV,
    STAGES_ENV,
    AccountSettings,
    AppStack,
    app_stacks,
    load_stages,
    selected_stages,
)
from stacks.settings.lookup import derived_name

# Environment variables through which the AWS SDKs find credentials.
CREDENTIAL_SOURCES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)


STACK_PREFIX = "image-service-"


def derived_stages(names: list[str]) -> tuple[str, ...]:
    """The derived stages (pr-<number>, dev-<name>, their local- variants) these stack names
    are: the app has them when a command names them (stacks/settings/derived.py)."""
    found = []
    for name in names:
        stage = name.removeprefix(STACK_PREFIX)
        if stage != name and derived_name(stage):
            found.append(stage)
    return tuple(found)


def table(extra: tuple[str, ...] = ()) -> dict[str, AppStack]:
    """Every stack of the app with the stages IMAGE_SERVICE_STAGES selects (default: all), and
    the derived stages `extra`."""
    selected = selected_stages()
    return app_stacks(load_stages(selected + tuple(s for s in extra if s not in selected)))


def resolve(names: list[str]) -> list[AppStack]:
    """The app's stacks of these names (a derived stage's stack is the app's once named); a
    name that is none of them is a ToolchainError naming the stacks there are."""
    stacks = table(derived_stages(names))
    unknown = [name for name in names if name not in stacks]
    if unknown:
        selected = os.environ.get(STAGES_ENV, "").strip()
        raise ToolchainError(
            f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a stack of this "
            f"app (its stacks: {', '.join(stacks)}; and the derived stages' "
            "image-service-pr-<number>, image-service-dev-<name>)"
            + (f"; {STAGES_ENV}={selected} selects which stages it has" if selected else ""),
            "check the name (`bin/cdktf list` names them)",
        )
    return [stacks[name] for name in names]


class Plannable(Protocol):
    """A stack as the checks before anything is contacted see it (AppStack, a bootstrap's)."""

    @property
    def name(self) -> str: ...
    @property
    def on_emulator(self) -> bool: ...
    @property
    def account(self) -> AccountSettings: ...
    def placeholder_problems(self) -> list[Problem]: ...


def missing_credentials(stack: Plannable, env: dict[str, str]) -> str | None:
    """Why `stack` cannot be planned here without contacting anything, or None."""
    if stack.on_emulator:
        if not env.get(LOCAL_ENDPOINT_ENV):
            return "the local emulator is not running (`make up` starts it)"
        return None
    account = stack.account
    if account.profile or any(env.get(k) for k in CREDENTIAL_SOURCES):
        return None
    home = Path(env.get("HOME", os.path.expanduser("~")))
    if (home / ".aws" / "credentials").is_file() or (home / ".aws" / "config").is_file():
        return None
    return (
        f"no AWS credentials for account {account.account_id} in this environment "
        "(set AWS_PROFILE or AWS_ACCESS_KEY_ID, or in CI the OIDC step)"
    )


def require_credentials(stack: Plannable, env: dict[str, str], command: str) -> None:
    """Stop before anything contacts AWS (or a stopped emulator) when `stack` cannot be planned
    here (the commands refuse placeholders first: refuse_placeholders)."""
    reason = missing_credentials(stack, env)
    if reason:
        raise ToolchainError(
            f"{command}: {stack.name} cannot be planned here: {reason}; nothing was contacted",
            "run `make up` first (it starts the emulator and deploys image-service-local)"
            if stack.on_emulator
            else "sign in to the stage's account first (e.g. `aws sso login --profile …` and "
            "AWS_PROFILE, or exported keys), then run again",
        )


class PlaceholderSettings(ImageServiceError):
    """A real stage still has a value the project ships in place of the organisation's own
    (exit 2): refused before credentials are looked for or anything is contacted."""


def refuse_placeholders(command: str, stacks: Sequence[Plannable]) -> None:
    """Stop `command` if a real stack among `stacks` would act with a placeholder: its
    account, the DNS account, or (for a state stack, which bootstraps the account's CI
    identity) the GitHub repository."""
    by_stack = {
        stack.name: stack.placeholder_problems() for stack in stacks if not stack.on_emulator
    }
    problems = {(p.setting, p.problem, p.fix): None for found in by_stack.values() for p in found}
    if not problems:
        return
    names = ", ".join(name for name, found in by_stack.items() if found)
    found = "; ".join(f"`{setting}`: {problem}" for setting, problem, _ in problems)
    fixes = "; ".join(dict.fromkeys(fix for _, _, fix in problems))
    raise PlaceholderSettings(
        f"{command}: {names} still uses the project's placeholders ({found}); nothing was "
        "contacted",
        f"{fixes} (docs/first-deploy.md), then run again",
    )
