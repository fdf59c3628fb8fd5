"""Local emulators for the deployment tests: each deployment test module gets its own moto
server on a free port (so modules can run in parallel), stopped when the module ends.

A module names what it deploys: STAGES (emulator stages, default ("local",)) and, optionally,
SKIP_PROVIDER_WAITS to override the stages' own choice (stacks/settings.py, _on_emulator), and
whether the state bucket is made by applying the bootstrap stack as `make up` does
(APPLY_STATE_BOOTSTRAP, default True) or, where the module tests something else, with one S3
call (~5 s of Terraform saved).
The stages are synthesized in the test process (the worker has cdktf loaded already), for the
module's emulator endpoint."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import boto3
import pytest

from ops import local_aws
from ops.plan_guard import STATEFUL_TYPES
from ops.toolchain import project_env
from ops.up import create_state_bucket
from stacks.app import build_app
from stacks.settings import (
    LOCAL_ENDPOINT_ENV,
    LOCAL_STATE,
    STAGES_ENV,
    emulator_stage_settings,
)


@dataclass
class Deployment:
    """An emulator, the env that points every tool at it, and the app synthesized for it."""
    endpoint: str
    env: dict[str, str]
    outdir: Path

    def stack_dir(self, stack: str) -> Path:
        return self.outdir / "stacks" / stack

    def stateful_addresses(self, stack: str) -> list[str]:
        """The addresses of the stack's tables, buckets and user pools, from its cdk.tf.json."""
        config = json.loads((self.stack_dir(stack) / "cdk.tf.json").read_text())
        return sorted(f"{tf_type}.{name}" for tf_type in STATEFUL_TYPES
                      for name in config["resource"].get(tf_type, {}))

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def deployment(request, tmp_path_factory) -> Deployment:
    """Emulator + synth of the module's STAGES + the emulator's state bucket."""
    stages = getattr(request.module, "STAGES", ("local",))
    skip_provider_waits = getattr(request.module, "SKIP_PROVIDER_WAITS", None)
    run_dir = tmp_path_factory.mktemp("local-aws")
    emulator = local_aws.up(run_dir, port=local_aws.free_port())
    env = project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint, STAGES_ENV: ",".join(stages),
                       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"})
    outdir = tmp_path_factory.mktemp("deploy") / "cdktf.out"
    build_app([emulator_stage_settings(stage, endpoint=emulator.endpoint,
                                       skip_provider_waits=skip_provider_waits)
               for stage in stages], outdir=str(outdir)).synth()
    deployment = Deployment(emulator.endpoint, env, outdir)
    if getattr(request.module, "APPLY_STATE_BOOTSTRAP", True):
        create_state_bucket(outdir, env)
    else:
        deployment.client("s3").create_bucket(Bucket=LOCAL_STATE.bucket)
    yield deployment
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
