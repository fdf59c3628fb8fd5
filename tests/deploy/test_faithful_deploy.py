"""The faithful emulator stage: image-service-local-production applied with production's exact
resource shapes, including the two the fast `local` stage swaps out to skip the AWS provider's
fixed waits (stacks/settings.py, _on_emulator): the bucket's lifecycle rules as an
aws_s3_bucket_lifecycle_configuration resource (~55 s of read-back polling on create) and an
enabled distribution that a destroy would disable and delete. Re-planned empty.

This module is mostly waiting on that poll, so it starts first and the rest of the suite runs
beside it (tests/conftest.py, SLOW_FIRST).
"""
from __future__ import annotations

import json

import pytest

from ops.toolchain import terraform

pytestmark = pytest.mark.emulator
STAGES = ("local-production",)
APPLY_STATE_BOOTSTRAP = False  # test_local_deploy.py applies it as `make up` does
STACK = "image-service-local-production"


@pytest.fixture(scope="module")
def stack_dir(deployment):
    return deployment.stack_dir(STACK)


@pytest.fixture(scope="module")
def outputs(deployment, stack_dir):
    env = deployment.env
    terraform(stack_dir, "init", "-input=false", "-no-color", env=env)
    terraform(stack_dir, "apply", "-auto-approve", "-input=false", "-no-color", env=env)
    out = json.loads(terraform(stack_dir, "output", "-json", env=env).stdout)
    return {k: v["value"] for k, v in out.items()}


def test_the_lifecycle_rules_are_a_lifecycle_configuration_resource(stack_dir, deployment,
                                                                   outputs, aws):
    state = terraform(stack_dir, "state", "list", env=deployment.env).stdout.split()
    assert [a for a in state if a.startswith("aws_s3_bucket_lifecycle_configuration.")]
    assert "lifecycle_rule" not in json.loads(
        (stack_dir / "cdk.tf.json").read_text())["resource"]["aws_s3_bucket"][
        next(a.split(".")[1] for a in state if a.startswith("aws_s3_bucket."))]
    rules = {r["ID"]: r for r in aws("s3").get_bucket_lifecycle_configuration(
        Bucket=outputs["BucketName"])["Rules"]}
    assert rules["intelligent-tiering"]["Transitions"] == [
        {"Days": 0, "StorageClass": "INTELLIGENT_TIERING"}]
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1}
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 30}


def test_the_distribution_is_enabled_and_not_retained(stack_dir, outputs, aws):
    config = aws("cloudfront").get_distribution_config(
        Id=outputs["CloudFrontDistributionId"])["DistributionConfig"]
    assert config["Enabled"] is True
    distribution = next(iter(json.loads((stack_dir / "cdk.tf.json").read_text())["resource"][
        "aws_cloudfront_distribution"].values()))
    assert distribution["enabled"] is True and "retain_on_delete" not in distribution


def test_a_re_plan_finds_nothing_to_change(stack_dir, deployment, outputs):
    proc = terraform(stack_dir, "plan", "-detailed-exitcode", "-input=false", "-no-color",
                     env=deployment.env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
