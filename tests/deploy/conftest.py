"""Local emulators for the deployment tests: each deployment test module gets its own moto
server on a free port (so modules can run in parallel), stopped when the module ends.

A module names what it deploys: STAGES (emulator stages, default ("local",)) and, optionally,
SKIP_PROVIDER_WAITS to override the stages' own choice (stacks/settings.py, _on_emulator), and
whether the state bucket is made by applying the bootstrap stack as `make up` does
(APPLY_STATE_BOOTSTRAP, default True) or, where the module tests something else, with one S3
call (~5 s of Terraform saved), and ATTACH(stack), what to add to each stack before synthesis.
The stages are synthesized in the test process (the worker has cdktf loaded already), for the
module's emulator endpoint (deployment.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ops import local_aws
from tests.deploy.deployment import Deployment, prepare


@pytest.fixture(scope="module")
def deployment(request, tmp_path_factory) -> Deployment:
    """Emulator + synth of the module's STAGES + the emulator's state bucket."""
    run_dir = tmp_path_factory.mktemp("local-aws")
    yield prepare(
        run_dir,
        tmp_path_factory.mktemp("deploy") / "cdktf.out",
        stages=getattr(request.module, "STAGES", ("local",)),
        skip_provider_waits=getattr(request.module, "SKIP_PROVIDER_WAITS", None),
        apply_state_bootstrap=getattr(request.module, "APPLY_STATE_BOOTSTRAP", True),
        attach=getattr(request.module, "ATTACH", None),
    )
    local_aws.down(run_dir)
    assert local_aws.status(run_dir) is None


@pytest.fixture(scope="module")
def emulator_env(deployment) -> dict[str, str]:
    return deployment.env


@pytest.fixture(scope="module")
def local_outdir(deployment) -> Path:
    return deployment.outdir


@pytest.fixture(scope="module")
def aws(deployment) -> Callable:
    """boto3 clients against the module's emulator only."""
    return deployment.client
