"""An emulator deployment for the tests: a moto server, the stages synthesized for it, and the
emulator's state bucket. Used by the module fixture in conftest.py and by the background
faithful deployment (faithful.py)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops import local_aws
from ops.plan_guard import STATEFUL_TYPES
from ops.toolchain import ROOT, project_env
from ops.up import create_state_bucket
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

    @classmethod
    def at(cls, endpoint: str, outdir: Path, stages: tuple[str, ...]) -> Deployment:
        # The emulator's credentials, but not AWS_ENDPOINT_URL: Terraform must reach the
        # emulator through the stack's own configuration (test_local_deploy tests that).
        credentials = {
            k: v for k, v in local_aws.client_env(endpoint).items() if k != "AWS_ENDPOINT_URL"
        }
        return cls(
            endpoint,
            project_env(
                {LOCAL_ENDPOINT_ENV: endpoint, STAGES_ENV: ",".join(stages), **credentials}
            ),
            outdir,
        )

    def stack_dir(self, stack: str) -> Path:
        return self.outdir / "stacks" / stack

    def stateful_addresses(self, stack: str) -> list[str]:
        """The addresses of the stack's tables, buckets and user pools, from its cdk.tf.json."""
        config = json.loads((self.stack_dir(stack) / "cdk.tf.json").read_text())
        return sorted(
            f"{tf_type}.{name}"
            for tf_type in STATEFUL_TYPES
            for name in config["resource"].get(tf_type, {})
        )

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """A project command (from the project root) against this deployment, output kept."""
        return subprocess.run(list(args), cwd=ROOT, env=self.env, text=True, capture_output=True)

    def wrapper_destroy(self, stack: str, *extra: str) -> subprocess.CompletedProcess:
        """`bin/cdktf destroy STACK` of this deployment's synthesis (plan guard first)."""
        return self.run(
            str(ROOT / "bin" / "cdktf"),
            "destroy",
            stack,
            "--auto-approve",
            "--skip-synth",
            "--output",
            str(self.outdir),
            *extra,
        )

    def client(self, service: str):
        return local_aws.client(service, self.endpoint)


def replan(stack_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`terraform plan -detailed-exitcode` of an applied stack: exit 0 when nothing would change."""
    from ops.toolchain import terraform

    return terraform(
        stack_dir,
        "plan",
        "-detailed-exitcode",
        "-input=false",
        "-no-color",
        env=env,
        check=False,
    )


def prepare(
    run_dir: Path,
    outdir: Path,
    stages: tuple[str, ...],
    skip_provider_waits: bool | None = None,
    apply_state_bootstrap: bool = True,
    attach: Callable[[Any], None] | None = None,
) -> Deployment:
    """Start an emulator (record in run_dir), synthesize `stages` for it in this process (cdktf
    is loaded already where this runs), and make its state bucket: by applying the bootstrap
    stack as `make up` does, or with one S3 call (~5 s of Terraform saved) where that is not
    what is tested. `attach(stack)` adds to each image-service stack before synthesis (e.g. a
    handler)."""
    from stacks.app import build_app  # cdktf: only where a deployment is prepared

    emulator = local_aws.up(run_dir, port=local_aws.free_port())
    settings = [
        emulator_stage_settings(
            stage, endpoint=emulator.endpoint, skip_provider_waits=skip_provider_waits
        )
        for stage in stages
    ]
    app = build_app(settings, outdir=str(outdir))
    if attach is not None:
        for stage in settings:
            attach(app.node.find_child(stage.stack_name))
    app.synth()
    deployment = Deployment.at(emulator.endpoint, outdir, stages)
    if apply_state_bootstrap:
        create_state_bucket(outdir, deployment.env)
    else:
        deployment.client("s3").create_bucket(Bucket=LOCAL_STATE.bucket)
    return deployment
