"""The local emulator for the deployment tests: started on a free port, stopped at the end."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from ops import local_aws
from ops.toolchain import ROOT, project_env
from stacks.settings import LOCAL_ENDPOINT_ENV
from tests.conftest import terraform


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("local-aws")
    emu = local_aws.up(run_dir, port=local_aws.free_port())
    yield emu
    local_aws.down(run_dir)
    assert local_aws.status(run_dir) is None


@pytest.fixture(scope="session")
def emulator_env(emulator, tmp_path_factory) -> dict[str, str]:
    env = project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint,
                       "IMAGE_SERVICE_STAGES": "local",
                       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"})
    return env


@pytest.fixture(scope="session")
def aws(emulator):
    """boto3 clients against the emulator only."""
    def client(service: str):
        return boto3.client(service, endpoint_url=emulator.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    return client


def synth_local(outdir: Path, env: dict[str, str]) -> Path:
    subprocess.run([sys.executable, "main.py"], cwd=ROOT, check=True,
                   env=dict(env, CDKTF_OUTDIR=str(outdir)))
    return outdir / "stacks"


@pytest.fixture(scope="session")
def local_outdir(emulator_env, tmp_path_factory) -> Path:
    """image-service-local synthesized for the test emulator, with its state bucket created."""
    outdir = tmp_path_factory.mktemp("deploy") / "cdktf.out"
    stacks = synth_local(outdir, emulator_env)
    bootstrap = stacks / "image-service-state-local"
    terraform(bootstrap, "init", "-input=false", "-no-color", env=emulator_env)
    terraform(bootstrap, "apply", "-auto-approve", "-input=false", "-no-color", env=emulator_env)
    return outdir
