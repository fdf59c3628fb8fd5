"""Builds the cdktf App: one image-service stack per stage plus the state-bucket bootstraps."""

from __future__ import annotations

from cdktf import App

from stacks.handlers import add_handlers
from stacks.image_service_stack import ImageServiceStack
from stacks.settings import (
    StageSettings,
    app_stacks,
    bootstrap_stack_name,
    identity_props,
    load_stages,
    selected_stages,
)
from stacks.state_bootstrap_stack import StateBootstrapStack


def build_app(stages: list[StageSettings] | None = None, outdir: str | None = None) -> App:
    """Validate every stage first (raising SettingsError), then build the app's stacks
    (stacks.settings.app_stacks: each stage's, then each account's state stack)."""
    stages = stages if stages is not None else load_stages(selected_stages())
    app = App(outdir=outdir) if outdir else App()
    for stack in app_stacks(stages).values():
        if stack.kind == "stage":
            add_handlers(ImageServiceStack(app, stack.settings))
        else:
            add_state_bootstrap(app, stack.settings)
    return app


def add_state_bootstrap(
    app: App, settings: StageSettings, state_in_bucket: bool | None = None
) -> StateBootstrapStack:
    """The stack that creates the state bucket of the stage's account (state_in_bucket: see
    StateBootstrapStack)."""
    return StateBootstrapStack(
        app,
        bootstrap_stack_name(settings),
        settings.state,
        settings.account,
        settings.emulator,
        protect_data=settings.emulator is None,
        state_in_bucket=state_in_bucket,
        identity=identity_props(settings),
    )
