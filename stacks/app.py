"""Builds the cdktf App: one image-service stack per stage plus the state-bucket bootstraps."""
from __future__ import annotations

import os
from typing import Optional

from cdktf import App

from stacks.errors import SettingsError
from stacks.image_service_stack import ImageServiceStack
from stacks.settings import ALL_STAGES, StageSettings, load_stages
from stacks.state_bootstrap_stack import StateBootstrapStack

# Restricts which stages are synthesized (comma-separated), e.g. for a quick local loop.
STAGES_ENV = "IMAGE_SERVICE_STAGES"


def selected_stages() -> tuple[str, ...]:
    raw = os.environ.get(STAGES_ENV, "").strip()
    if not raw:
        return ALL_STAGES
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    for name in names:
        if name not in ALL_STAGES:
            raise SettingsError(name, STAGES_ENV, f"'{name}' is not a known stage",
                                f"set {STAGES_ENV} to a comma-separated subset of "
                                + ", ".join(ALL_STAGES) + ", or unset it")
    return names


def bootstrap_stack_name(settings: StageSettings) -> str:
    return "image-service-state-local" if settings.emulator else "image-service-state"


def build_app(stages: Optional[list[StageSettings]] = None, outdir: Optional[str] = None) -> App:
    """Validate every stage first (raising SettingsError), then build the stacks."""
    stages = stages if stages is not None else load_stages(selected_stages())
    app = App(outdir=outdir) if outdir else App()
    bootstraps: dict[str, StageSettings] = {}
    for settings in stages:
        ImageServiceStack(app, settings)
        bootstraps.setdefault(bootstrap_stack_name(settings), settings)
    for name, settings in bootstraps.items():
        StateBootstrapStack(app, name, settings.state, settings.emulator,
                            protect=settings.emulator is None)
    return app
