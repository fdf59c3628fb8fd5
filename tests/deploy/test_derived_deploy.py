"""A derived stage deployed and destroyed on the emulator (issue 30): `local-pr-7`, the emulator
variant of pull request 7's preview, through `bin/cdktf deploy` and `destroy` exactly as the
preview workflow runs them, on an emulator of its own: its resources tagged with its kind, pull
request and creation date; deployed again with nothing to change (the date kept from its
state); destroyed with nothing left behind, its state object included."""

from __future__ import annotations

import subprocess

import pytest

from ops import local_aws
from ops.toolchain import ROOT
from stacks.settings import LOCAL_STATE
from stacks.settings.derived import CREATED_ON_ENV
from tests.deploy.deployment import Deployment

pytestmark = pytest.mark.emulator
STAGE = "local-pr-7"
STACK = f"image-service-{STAGE}"
CREATED_ON = "2026-11-30"
SYNTHESIS_CURRENT = "==> the last synthesis of these stacks is current"


class Emulator:
    """An emulator of the module's own and bin/cdktf run against it as the preview workflow runs
    it (every stage selectable)."""

    def __init__(self, root):
        self.run_dir = root / "local-aws"
        self.calls = root / "calls.jsonl"  # every call the emulator is sent: ops/action_log.py
        emulator = local_aws.up(self.run_dir, port=local_aws.free_port(), record_to=self.calls)
        self.deployment = Deployment.at(emulator.endpoint, root / "cdktf.out", ())
        self.client("s3").create_bucket(Bucket=LOCAL_STATE.bucket)

    def client(self, service: str):
        return self.deployment.client(service)

    def bin_cdktf(self, *args: str, created_on: str | None = None) -> subprocess.CompletedProcess:
        env = {k: v for k, v in self.deployment.env.items() if k != CREATED_ON_ENV}
        if created_on:
            env[CREATED_ON_ENV] = created_on
        return subprocess.run(
            [str(ROOT / "bin" / "cdktf"), *args, "--output", str(self.deployment.outdir)],
            cwd=ROOT,
            env=env,
            text=True,
            capture_output=True,
            timeout=600,
        )

    def tagged(self) -> list[dict]:
        """The emulator's resources tagged as the stage's (the tagging API, as the nightly
        clean-up reads them)."""
        found = self.client("resourcegroupstaggingapi").get_resources(
            TagFilters=[{"Key": "Stage", "Values": [STAGE]}]
        )
        return found["ResourceTagMappingList"]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    found = Emulator(tmp_path_factory.mktemp("derived"))
    yield found
    local_aws.down(found.run_dir)


@pytest.fixture(scope="module")
def deployed(emulator):
    result = emulator.bin_cdktf("deploy", STACK, "--auto-approve", created_on=CREATED_ON)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    return result


def test_bin_cdktf_deploys_it_with_no_settings_edited(deployed, emulator):
    assert f"{STACK} outputs:" in deployed.stdout
    assert f"  TableName = ImageMetadata-{STAGE}" in deployed.stdout
    assert f"  CreatedOn = {CREATED_ON}" in deployed.stdout
    assert emulator.client("dynamodb").describe_table(TableName=f"ImageMetadata-{STAGE}")
    state = emulator.client("s3").head_object(
        Bucket=LOCAL_STATE.bucket, Key=f"image-service/{STAGE}/terraform.tfstate"
    )
    assert state["ContentLength"] > 0


def test_its_resources_carry_its_kind_pull_request_and_creation_date(deployed, emulator):
    tagged = emulator.tagged()
    services = {r["ResourceARN"].split(":")[2] for r in tagged}
    assert {"dynamodb", "s3", "sns"} <= services, services
    for resource in tagged:
        tags = {t["Key"]: t["Value"] for t in resource["Tags"]}
        assert {k: tags.get(k) for k in ("StageKind", "PullRequest", "CreatedOn")} == {
            "StageKind": "preview",
            "PullRequest": "7",
            "CreatedOn": CREATED_ON,
        }, resource["ResourceARN"]
    table_arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/ImageMetadata-{STAGE}"
    tags = emulator.client("dynamodb").list_tags_of_resource(ResourceArn=table_arn)["Tags"]
    assert {"Key": "CreatedOn", "Value": CREATED_ON} in tags


@pytest.fixture(scope="module")
def redeployed(deployed, emulator):
    """Deployed again as the next push would, without a date given: bin/cdktf keeps the one
    its state recorded."""
    result = emulator.bin_cdktf("deploy", STACK, "--auto-approve")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    return result


def test_a_redeploy_keeps_its_creation_date_and_changes_nothing(redeployed):
    assert "No changes: the deployment already matches the configuration." in redeployed.stdout
    assert f"  CreatedOn = {CREATED_ON}" in redeployed.stdout


def test_a_redeploy_of_the_same_sources_and_date_reuses_the_synthesis(redeployed):
    # The recorded CreatedOn makes its settings the first deploy's: nothing to synthesize.
    assert redeployed.stdout.startswith(SYNTHESIS_CURRENT), redeployed.stdout[:500]


@pytest.fixture(scope="module")
def destroyed(redeployed, emulator):
    s3 = emulator.client("s3")
    s3.put_object(Bucket=f"images-lego-moc-{STAGE}", Key="images/1.png", Body=b"an image")
    # As the preview workflow's destroy runs it: the synthesis is still current.
    result = emulator.bin_cdktf("destroy", STACK, "--auto-approve")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    return result


def test_destroy_accepts_every_loss_of_a_disposable_stage_naming_each(destroyed):
    assert destroyed.stdout.startswith(SYNTHESIS_CURRENT)
    for what in ("aws_dynamodb_table", "aws_s3_bucket", "aws_cognito_user_pool"):
        assert f"delete {what}." in destroyed.stdout
    assert "is a disposable stage (a pull request's or a developer's)" in destroyed.stdout
    assert f"{STACK}: destroyed, and its state object removed from" in destroyed.stdout


def test_nothing_is_left_behind(destroyed, emulator):
    assert emulator.tagged() == []
    s3 = emulator.client("s3")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [LOCAL_STATE.bucket]
    assert (
        s3.list_objects_v2(Bucket=LOCAL_STATE.bucket, Prefix=f"image-service/{STAGE}/").get(
            "KeyCount"
        )
        == 0
    )
    assert emulator.client("dynamodb").list_tables()["TableNames"] == []
    assert emulator.client("cognito-idp").list_user_pools(MaxResults=10)["UserPools"] == []
    assert emulator.client("apigatewayv2").get_apis()["Items"] == []
    distributions = emulator.client("cloudfront").list_distributions()["DistributionList"]
    assert distributions.get("Items", []) == []
    assert emulator.client("sns").list_topics()["Topics"] == []
    assert emulator.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    groups = emulator.client("logs").describe_log_groups()["logGroups"]
    assert [g["logGroupName"] for g in groups if STAGE in g["logGroupName"]] == []


def test_the_preview_role_is_granted_every_action_the_deploy_and_destroy_called(
    destroyed, emulator, stacks, catalogue
):
    """Issue 35: each AWS action Terraform called to deploy, re-plan and destroy the stage,
    and bin/cdktf itself to remove its state's versions, is one the preview role may do (the
    emulator bootstrap's, from the same code as the previews account's)."""
    from tests.policies.recorded import missing_grants

    missing = missing_grants(
        catalogue,
        stacks["image-service-state-local"].json,
        "image-service-deploy-preview",
        [emulator.calls],
        STACK,
    )
    assert missing == []
