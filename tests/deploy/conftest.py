"""The session's two deployments (tests/deploy/shared.py), one per stack shape, for the modules
that inspect them: `local` (image-service-local with a test handler) and `production`
(image-service-local-production with production's exact shapes). Each is applied once per test
session, in the background from its start; these fixtures wait for it."""

from __future__ import annotations

import fcntl
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


@pytest.fixture(scope="session")
def local_gateway(local):
    """The local gateway serving the session's local deployment (as `make up` starts it), for
    the modules that call its API and CDN; one per session whichever worker asks first (an
    flock), stopped with the deployment's emulator (shared.stop)."""
    from ops import local_aws
    from ops.gateway import daemon

    run_dir = shared.shape_dir(shared.deployments_dir(), "local") / "local-aws"
    with open(run_dir / "gateway.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        emulator = local_aws.status(run_dir)
        assert emulator is not None, f"the local deployment's emulator is not running: {run_dir}"
        return daemon.up(emulator, local.stack_dir("image-service-local"), "local", run_dir)
