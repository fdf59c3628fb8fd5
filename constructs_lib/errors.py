"""The base of the project's one error model, at the bottom layer so that constructs can raise it
too (stacks/errors.py adds the kinds the commands meet and the exit codes; it re-exports these).

Every mistake or fault a user can meet is an ImageServiceError that says what is wrong
(`problem`) and how to fix it (`fix`), and carries the exit code of the command that meets it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

EXIT_ERROR = 2


@dataclass(frozen=True)
class Problem:
    """What is wrong with one setting or argument: `setting` names it (dotted inside props, e.g.
    "existing.client_ids"), `problem` says what is wrong without repeating the name, and `fix`
    what to do. Props return them from `problems()` (constructs_lib/validation.py)."""

    setting: str
    problem: str
    fix: str

    def within(self, section: str) -> Problem:
        """The same problem, its setting named inside `section` (e.g. "bucket.name")."""
        return replace(self, setting=f"{section}.{self.setting}")

    def line(self) -> str:
        return f"`{self.setting}`: {self.problem}. Fix: {self.fix}."


class ImageServiceError(Exception):
    """What is wrong (`problem`) and what to do about it (`fix`, may be empty when the problem
    already says it); `exit_code` for the command that stops on it."""

    exit_code = EXIT_ERROR

    def __init__(self, problem: str, fix: str = ""):
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem}. Fix: {fix}" if fix else problem)


class ConstructError(ImageServiceError):
    """A construct was given props or a call it cannot honour: every problem is listed at once
    (as AWS CDK's validation does), each with its fix. Nothing is synthesized."""

    def __init__(self, construct: str, problems: list[Problem]):
        self.construct, self.problems = construct, problems
        if len(problems) == 1:
            [only] = problems
            super().__init__(f"{construct}: `{only.setting}`: {only.problem}", only.fix)
        else:
            super().__init__(
                f"{construct}: {len(problems)} problems:\n"
                + "\n".join(f"  - {p.line()}" for p in problems)
            )
