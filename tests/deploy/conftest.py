"""The session's two deployments (tests/deploy/shared.py), one per stack shape, for the modules
that inspect them: `local` (image-service-local with a test handler) and `production`
(image-service-local-production with production's exact shapes). Each is applied once per test
session, in the background from its start; these fixtures wait for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy import shared
from tests.deploy.deployment import Deployment


def shared_deployment(shape: str) -> Deployment:
    outcome = shared.result(shared.deployments_dir(), shape)
    assert "error" not in outcome, outcome["error"]
    return Deployment.at(
        outcome["endpoint"], Path(outcome["outdir"]), (shared.SHAPES[shape].stage,)
    )


@pytest.fixture(scope="session")
def local() -> Deployment:
    return shared_deployment("local")


@pytest.fixture(scope="session")
def production() -> Deployment:
    return shared_deployment("local-production")
