"""The project's one error model: every mistake or fault a user can meet is an ImageServiceError
that says what is wrong and how to fix it, and carries the exit code of the command that meets
it. Every entry point (`python main.py`, `make up`, `make smoke`, `bin/cdktf`, the plan guard,
the emulator commands) catches this base once and prints `error: <message>` as one paragraph,
no traceback.

Exit codes: 1 the user declined a plan (nothing applied); 2 a setting, the toolchain or the
emulator (the default); 3 the plan guard refused a plan; 4 another run holds the stack; 130
interrupted.
"""

from __future__ import annotations

import sys
from typing import Any

# The base lives with the constructs (which raise it too); re-exported here for the commands.
from constructs_lib.errors import EXIT_ERROR as EXIT_ERROR
from constructs_lib.errors import ConstructError as ConstructError
from constructs_lib.errors import ImageServiceError as ImageServiceError

EXIT_DECLINED = 1  # the user answered no to a plan: nothing was applied
EXIT_REFUSED = 3
EXIT_BUSY = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report an interrupted command


class SettingsError(ImageServiceError):
    """A setting is wrong. The message names the stage, the setting, the problem and the fix."""

    def __init__(self, stage: str, setting: str, problem: str, fix: str):
        super().__init__(
            f"Invalid setting `{setting}` for stage '{stage}': {problem}",
            f"{fix}. (Settings live in stacks/settings/; nothing was synthesized.)",
        )
        self.stage, self.setting, self.problem, self.fix = stage, setting, problem, fix
        self.problems: list[SettingsError] = [self]

    @classmethod
    def several(cls, problems: list[SettingsError]) -> SettingsError:
        """One error for several broken settings of a stage: every one is listed; `setting`,
        `problem` and `fix` are the first's."""
        first = problems[0]
        error = cls(first.stage, first.setting, first.problem, first.fix)
        error.problems = list(problems)
        error.args = (
            f"{len(problems)} invalid settings for stage '{first.stage}':\n"
            + "\n".join(f"  - `{p.setting}`: {p.problem}. Fix: {p.fix}." for p in problems)
            + "\n(Settings live in stacks/settings/; nothing was synthesized.)",
        )
        return error


class ToolchainError(ImageServiceError):
    """Terraform, the provider mirror, a synthesis or another tool the project runs is missing,
    broken or failed; the message carries the tool's own words and the fix."""


class WrongAccount(ImageServiceError):
    """The credentials belong to another AWS account than the one the stack is pinned to; the
    provider refused before planning anything."""

    def __init__(self, stack: str, expected: list[str], actual: str) -> None:
        pinned = " or ".join(expected) or "another account"
        super().__init__(
            f"{stack} is pinned to AWS account {pinned} (stacks/settings/stages.py, ACCOUNTS), "
            f"but the credentials in use belong to account {actual}: Terraform refused to plan, "
            "and nothing was changed",
            f"use credentials for account {pinned} (the stage's profile or role; "
            "`aws sts get-caller-identity` shows whose the current ones are). If the stage "
            f"really lives in account {actual}, change its account_id in stacks/settings/stages.py "
            "in a reviewed change",
        )
        self.stack, self.expected, self.actual = stack, expected, actual


class BusyError(ImageServiceError):
    """Another run is working on the same stack, or holds its Terraform state lock."""

    exit_code = EXIT_BUSY


class Interrupted(ImageServiceError):
    """The user interrupted the command; every child it ran has exited."""

    exit_code = EXIT_INTERRUPTED


class PolicyViolation(ImageServiceError):
    """A synthesized resource breaks one of the organisation's rules (stacks.policies)."""

    def __init__(self, violations: list[Any]) -> None:
        super().__init__(
            "\n".join(
                ["synthesis refused by policy:"]
                + [f"[{v.path}] {v.message()}" for v in violations]
                + [
                    "Nothing was written. Fix each resource above; a rule that truly does not "
                    "apply to a stack is waived in that stack's "
                    "PolicyProps(waivers={rule: reason})."
                ]
            )
        )


class SynthError(ImageServiceError):
    """cdktf failed to synthesize for another reason (a construct or jsii error)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"synthesis failed: {detail}")


class PublishError(ImageServiceError):
    """The synthesized stacks could not be written into the output directory; nothing was
    changed there."""


def report(exc: ImageServiceError) -> int:
    """Print the error as the one paragraph users see; returns the exit code to use."""
    print(f"error: {exc}", file=sys.stderr)
    return exc.exit_code
