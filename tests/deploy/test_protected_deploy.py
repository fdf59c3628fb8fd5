"""Production's data protection, proven where it can fire: Terraform only refuses to destroy what
is in its state, so image-service-local-production (production's protection settings on the
emulator) is applied and given data, then every routine way to destroy it is tried. Finally a
drifted bucket policy is put back by `terraform apply`, and a re-plan finds nothing to change.

The protection does not depend on the two resource shapes the provider waits on, so this module
deploys local-production without those waits (SKIP_PROVIDER_WAITS); test_faithful_deploy.py
applies it with production's exact shapes, in parallel.

Tests run in file order.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from ops.toolchain import CDKTF_BIN, ROOT, terraform
from ops.workdir import stack_outputs
from stacks.errors import EXIT_REFUSED
from stacks.settings import stage_settings

pytestmark = pytest.mark.emulator
STAGES = ("local-production",)
SKIP_PROVIDER_WAITS = True
APPLY_STATE_BOOTSTRAP = False  # test_local_deploy.py applies it as `make up` does
STACK = "image-service-local-production"
ITEM = {"PK": {"S": "IMAGE#42"}, "SK": {"S": "METADATA"}, "title": {"S": "Millennium Falcon"}}
OBJECT_KEY, OBJECT_BODY = "images/42.png", b"\x89PNG-falcon"


@pytest.fixture(scope="module")
def stack_dir(deployment):
    return deployment.stack_dir(STACK)


@pytest.fixture(scope="module")
def outputs(deployment, stack_dir):
    env = deployment.env
    terraform(stack_dir, "init", "-input=false", "-no-color", env=env)
    terraform(stack_dir, "apply", "-auto-approve", "-input=false", "-no-color", env=env)
    return stack_outputs(stack_dir, env)


@pytest.fixture(scope="module")
def protected(deployment):
    return deployment.stateful_addresses(STACK)


def test_the_stack_carries_productions_protection(outputs, aws, protected):
    production = stage_settings("production")
    assert stage_settings("local-production").protect_data is production.protect_data is True
    table = outputs["TableName"]
    backups = aws("dynamodb").describe_continuous_backups(TableName=table)
    assert (
        backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
            "PointInTimeRecoveryStatus"
        ]
        == "ENABLED"
    )
    assert (
        aws("dynamodb").describe_table(TableName=table)["Table"]["DeletionProtectionEnabled"]
        is True
    )
    assert aws("s3").get_bucket_versioning(Bucket=outputs["BucketName"])["Status"] == "Enabled"
    assert len(protected) == 3


def test_the_stack_holds_data(outputs, aws):
    aws("dynamodb").put_item(TableName=outputs["TableName"], Item=ITEM)
    s3, bucket = aws("s3"), outputs["BucketName"]
    s3.put_object(Bucket=bucket, Key=OBJECT_KEY, Body=OBJECT_BODY)
    # Drift for the last test, which shows `terraform apply` restoring the policy.
    s3.delete_bucket_policy(Bucket=bucket)


def _refused_by_prevent_destroy(text: str, protected: list[str]) -> None:
    # Terraform wraps its messages; cdktf adds colours and the construct path after the address.
    text = " ".join(re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text).split())
    assert "Instance cannot be destroyed" in text, text
    for address in protected:
        assert re.search(
            re.escape(f"Resource {address}") + r"( \([^)]*\))? has "
            r"lifecycle\.prevent_destroy set",
            text,
        ), address


def test_terraform_destroy_is_refused(stack_dir, deployment, outputs, protected):
    proc = terraform(
        stack_dir,
        "destroy",
        "-auto-approve",
        "-input=false",
        "-no-color",
        env=deployment.env,
        check=False,
    )
    assert proc.returncode == 1
    _refused_by_prevent_destroy(proc.stderr, protected)


def test_cdktf_destroy_is_refused(stack_dir, deployment, outputs, protected, tmp_path):
    # The real cdktf CLI, without the project's plan guard in front of it.
    state_before = terraform(stack_dir, "state", "list", env=deployment.env).stdout.split()
    log = tmp_path / "cdktf-destroy.log"
    with log.open("w") as out:
        proc = subprocess.run(
            [
                str(CDKTF_BIN),
                "destroy",
                STACK,
                "--auto-approve",
                "--skip-synth",
                "--skip-provider-lock",
                "--no-color",
                "--output",
                str(deployment.outdir),
            ],
            cwd=ROOT,
            env=deployment.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    text = " ".join(log.read_text().split())
    assert proc.returncode != 0
    # Terraform stopped at planning: it printed the plan, "but then encountered a problem" (the
    # prevent_destroy errors; cdktf 0.21 sometimes drops the tail of Terraform's output when it
    # fails, so the diagnostics themselves are asserted in test_terraform_destroy_is_refused).
    assert "Terraform planned the following actions, but then encountered a problem" in text
    assert "Destruction complete" not in text and "Destroying..." not in text
    state_after = terraform(stack_dir, "state", "list", env=deployment.env).stdout.split()
    assert state_after == state_before and set(protected) <= set(state_after)


def test_the_project_wrapper_refuses_destroy_before_terraform_runs(deployment, outputs, protected):
    proc = deployment.wrapper_destroy(STACK)
    assert proc.returncode == EXIT_REFUSED, proc.stdout + proc.stderr
    assert f"refusing the plan for {STACK}" in proc.stderr
    for address in protected:
        assert f"delete {address}" in proc.stderr
    assert "[lifecycle.prevent_destroy]" in proc.stderr


def test_the_data_is_still_there(stack_dir, deployment, outputs, aws, protected):
    item = aws("dynamodb").get_item(
        TableName=outputs["TableName"], Key={"PK": ITEM["PK"], "SK": ITEM["SK"]}
    )["Item"]
    assert item == ITEM
    body = aws("s3").get_object(Bucket=outputs["BucketName"], Key=OBJECT_KEY)["Body"].read()
    assert body == OBJECT_BODY
    pool = aws("cognito-idp").describe_user_pool(UserPoolId=outputs["UserPoolId"])["UserPool"]
    assert pool["Id"] == outputs["UserPoolId"]
    state = terraform(stack_dir, "state", "list", env=deployment.env).stdout.split()
    assert set(protected) <= set(state)


def test_apply_restores_the_removed_policy_and_nothing_drifts(stack_dir, deployment, outputs, aws):
    env = deployment.env
    terraform(stack_dir, "apply", "-auto-approve", "-input=false", "-no-color", env=env)
    policy = json.loads(aws("s3").get_bucket_policy(Bucket=outputs["BucketName"])["Policy"])
    # (The deny-non-TLS statement is left out on the emulator: EMULATOR_BUCKET_POLICY_GAP.)
    assert {st["Sid"] for st in policy["Statement"]} == {"AllowCloudFrontRead"}
    proc = terraform(
        stack_dir, "plan", "-detailed-exitcode", "-input=false", "-no-color", env=env, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
