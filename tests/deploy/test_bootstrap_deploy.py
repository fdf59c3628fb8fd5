"""The state bootstrap's two steps, for real on an empty emulator (ops/bootstrap.py): the
account's state bucket is created with local state, then the bootstrap's own state moves into
that bucket and the local file is removed; run again, it finds everything in place."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ops import local_aws
from ops.toolchain import ROOT, project_env
from stacks.settings import (
    BOOTSTRAP_STATE_KEY,
    LOCAL_ENDPOINT_ENV,
    LOCAL_STATE,
    LOCAL_STATE_FILE,
)

pytestmark = pytest.mark.emulator
STACK = "image-service-state-local"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("local-aws")
    yield local_aws.up(run_dir, port=local_aws.free_port())
    local_aws.down(run_dir)


@pytest.fixture(scope="module")
def outdir(tmp_path_factory):
    return tmp_path_factory.mktemp("bootstrap") / "cdktf.out"


def _credentials(emulator) -> dict[str, str]:
    return {
        k: v for k, v in local_aws.client_env(emulator.endpoint).items() if k != "AWS_ENDPOINT_URL"
    }


def bootstrap(emulator, outdir) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ops.bootstrap", "local", "--outdir", str(outdir)],
        cwd=ROOT,
        env=project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint, **_credentials(emulator)}),
        text=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def first_run(emulator, outdir):
    s3 = local_aws.client("s3", emulator.endpoint)
    assert LOCAL_STATE.bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    return bootstrap(emulator, outdir)


def test_the_first_run_creates_the_bucket_then_moves_its_state_into_it(first_run):
    assert first_run.returncode == 0, first_run.stderr
    lines = [line for line in first_run.stdout.splitlines() if line.startswith(STACK)]
    where = f"s3://{LOCAL_STATE.bucket}/{BOOTSTRAP_STATE_KEY}"
    assert lines == [
        f"{STACK}: creating the state bucket {LOCAL_STATE.bucket} (state kept locally for now)",
        f"{STACK}: moving its own state into {where}",
        f"{STACK}: created the state bucket {LOCAL_STATE.bucket}; its own state is now in {where}",
    ]


def test_the_bucket_holds_the_bootstraps_own_state(first_run, emulator):
    s3 = local_aws.client("s3", emulator.endpoint)
    state = json.loads(
        s3.get_object(Bucket=LOCAL_STATE.bucket, Key=BOOTSTRAP_STATE_KEY)["Body"].read()
    )
    resources = {(r["type"], r["name"]) for r in state["resources"]}
    assert ("aws_s3_bucket", "StateBucket") in resources
    assert ("aws_s3_bucket_versioning", "Versioning") in resources


def test_no_state_is_left_only_on_this_machine(first_run, outdir):
    stack_dir = outdir / "stacks" / STACK
    assert not (stack_dir / LOCAL_STATE_FILE).exists()
    assert not (stack_dir / f"{LOCAL_STATE_FILE}.backup").exists()
    backend = json.loads((stack_dir / "cdk.tf.json").read_text())["terraform"]["backend"]
    assert backend["s3"]["key"] == BOOTSTRAP_STATE_KEY


def test_a_second_run_finds_the_bucket_and_its_state_and_changes_nothing(
    first_run, emulator, outdir
):
    again = bootstrap(emulator, outdir)
    assert again.returncode == 0, again.stderr
    assert "No changes: the deployment already matches the configuration." in again.stdout
    assert again.stdout.rstrip().endswith(
        f"{STACK}: the state bucket {LOCAL_STATE.bucket} exists and holds its own state "
        f"(s3://{LOCAL_STATE.bucket}/{BOOTSTRAP_STATE_KEY})"
    )


def test_a_run_stopped_between_the_steps_is_resumed_with_step_two(first_run, emulator, outdir):
    """The state is still only local (as after step 1, or after `make up`, whose emulator
    bootstrap keeps local state) while the bucket exists: the next run moves it."""
    s3 = local_aws.client("s3", emulator.endpoint)
    stack_dir = outdir / "stacks" / STACK
    state = s3.get_object(Bucket=LOCAL_STATE.bucket, Key=BOOTSTRAP_STATE_KEY)["Body"].read()
    (stack_dir / LOCAL_STATE_FILE).write_bytes(state)
    s3.delete_object(Bucket=LOCAL_STATE.bucket, Key=BOOTSTRAP_STATE_KEY)

    resumed = bootstrap(emulator, outdir)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    where = f"s3://{LOCAL_STATE.bucket}/{BOOTSTRAP_STATE_KEY}"
    assert [line for line in resumed.stdout.splitlines() if line.startswith(STACK)] == [
        f"{STACK}: moving its own state into {where}",
        f"{STACK}: the state bucket {LOCAL_STATE.bucket} existed; its own state is now in {where}",
    ]
    moved = json.loads(
        s3.get_object(Bucket=LOCAL_STATE.bucket, Key=BOOTSTRAP_STATE_KEY)["Body"].read()
    )
    assert ("aws_s3_bucket", "StateBucket") in {(r["type"], r["name"]) for r in moved["resources"]}
    assert not (stack_dir / LOCAL_STATE_FILE).exists()


def test_bin_cdktf_diffs_the_state_stack_and_refuses_to_deploy_it(first_run, emulator, outdir):
    """The state stack through bin/cdktf: found in the app's table of stacks (issue 25, bug 1),
    diffed by the cdktf CLI like any stack, deployed only by ops.bootstrap."""
    env = project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint, **_credentials(emulator)})
    wrapper = [str(ROOT / "bin" / "cdktf")]
    diff = subprocess.run(
        [*wrapper, "diff", STACK, "--skip-synth", "--no-color", "--output", str(outdir)],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
    )
    assert diff.returncode == 0, diff.stdout + diff.stderr
    assert "No changes. Your infrastructure matches the configuration." in diff.stdout
    deploy = subprocess.run(
        [*wrapper, "deploy", STACK, "--skip-synth", "--output", str(outdir)],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
    )
    assert deploy.returncode == 2, deploy.stdout + deploy.stderr
    assert "run `.venv/bin/python -m ops.bootstrap local`" in deploy.stderr
    assert "Traceback" not in deploy.stderr
