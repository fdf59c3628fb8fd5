"""The one exception type for mistakes a user can make in settings or on the command line."""


class SettingsError(Exception):
    """A setting is wrong. The message names the stage, the setting, the problem and the fix."""

    def __init__(self, stage: str, setting: str, problem: str, fix: str):
        self.stage, self.setting, self.problem, self.fix = stage, setting, problem, fix
        super().__init__(
            f"Invalid setting `{setting}` for stage '{stage}': {problem}. Fix: {fix}. "
            "(Settings live in stacks/settings.py; nothing was synthesized.)"
        )


class ToolchainError(Exception):
    """Terraform, the provider mirror or another tool the project runs is missing or broken."""
