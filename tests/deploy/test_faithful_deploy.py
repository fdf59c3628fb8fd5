"""The faithful emulator stage: image-service-local-production applied with production's exact
resource shapes, including the two the fast `local` stage swaps out to skip the AWS provider's
fixed waits (stacks/settings.py, _on_emulator): the bucket's lifecycle rules as an
aws_s3_bucket_lifecycle_configuration resource (~55 s of read-back polling on create) and an
enabled distribution that a destroy would disable and delete. Re-planned empty.

The apply runs in the background from the start of the session (tests/deploy/faithful.py), so
its ~55 s of waiting costs no pytest worker; this module, scheduled last, inspects the result.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ops.toolchain import terraform
from tests.deploy import faithful
from tests.deploy.deployment import Deployment

pytestmark = pytest.mark.emulator
STACK = faithful.STACK


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    """The background deployment's emulator and synthesis (overrides conftest's fixture)."""
    run_dir = os.environ.get(faithful.RUN_ENV)
    if not run_dir:
        pytest.fail(f"{faithful.RUN_ENV} is not set: the session starts the faithful deployment "
                    "when this module is selected (tests/conftest.py, pytest_configure)")
    outcome = faithful.result(Path(run_dir))
    assert "error" not in outcome, outcome["error"]
    return Deployment.at(outcome["endpoint"], Path(outcome["outdir"]), (faithful.STAGE,))


@pytest.fixture(scope="module")
def stack_dir(deployment) -> Path:
    return deployment.stack_dir(STACK)


@pytest.fixture(scope="module")
def outputs(stack_dir, emulator_env):
    out = json.loads(terraform(stack_dir, "output", "-json", env=emulator_env).stdout)
    return {k: v["value"] for k, v in out.items()}


def test_the_lifecycle_rules_are_a_lifecycle_configuration_resource(stack_dir, emulator_env,
                                                                   outputs, aws):
    state = terraform(stack_dir, "state", "list", env=emulator_env).stdout.split()
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


def test_a_re_plan_finds_nothing_to_change(stack_dir, emulator_env, outputs):
    proc = terraform(stack_dir, "plan", "-detailed-exitcode", "-input=false", "-no-color",
                     env=emulator_env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
