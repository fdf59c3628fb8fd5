"""Builds the cdktf App: one image-service stack per stage plus the state-bucket bootstraps."""

from __future__ import annotations

from cdktf import App

from stacks.dns_bootstrap_stack import DnsBootstrapStack
from stacks.handlers import add_handlers
from stacks.image_service_stack import ImageServiceStack
from stacks.settings import StageSettings, app_stacks, load_stages, selected_stages
from stacks.settings.accounts import AccountSetup, setup_of
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
            add_state_bootstrap(app, setup_of(stack.settings))
    return app


def add_state_bootstrap(
    app: App, setup: AccountSetup, state_in_bucket: bool | None = None
) -> StateBootstrapStack:
    """The stack that creates the account's state bucket and its CI identity (state_in_bucket:
    see StateBootstrapStack)."""
    return StateBootstrapStack(
        app,
        setup.stack_name,
        setup.state,
        setup.account,
        setup.emulator,
        protect_data=setup.emulator is None,
        state_in_bucket=state_in_bucket,
        identity=setup.identity,
    )


def add_dns_bootstrap(app: App, setup: AccountSetup) -> DnsBootstrapStack:
    """The DNS account's delegation roles (its state in the account's state bucket)."""
    assert setup.dns is not None
    return DnsBootstrapStack(
        app, setup.dns_stack_name, setup.state, setup.account, setup.emulator, setup.dns
    )
