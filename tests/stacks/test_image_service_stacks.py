"""The stacks: one per stage, providers, remote state, outputs, and `terraform validate`."""
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from ops.toolchain import terraform
from tests.conftest import ALL_STACKS

STAGES = ("dev", "staging", "production", "local")
OUTPUTS = {"TableName", "TableArn", "TableStreamArn", "BucketName", "BucketArn",
           "CloudFrontDomain", "CloudFrontDistributionId", "ApiEndpoint", "ApiId",
           "UserPoolId", "UserPoolClientId"}


def test_one_stack_per_stage_plus_state_bootstraps(stacks):
    assert sorted(stacks) == sorted(ALL_STACKS)


@pytest.mark.parametrize("name", STAGES)
def test_s3_backend_per_stage(stage, name):
    s3 = stage(name).json["terraform"]["backend"]["s3"]
    assert s3["key"] == f"image-service/{name}/terraform.tfstate"
    assert s3["encrypt"] is True
    assert s3["use_lockfile"] is True
    assert s3["bucket"] == ("image-service-tfstate-local" if name == "local"
                            else "lego-moc-image-service-tfstate")
    assert s3["region"] == "us-east-1"
    assert "dynamodb_table" not in s3


@pytest.mark.parametrize("name", STAGES)
def test_providers_carry_region_and_default_tags(stage, name):
    providers = stage(name).json["provider"]["aws"]
    assert sorted(p.get("alias", "") for p in providers) == ["", "us_east_1"]
    for p in providers:
        assert p["default_tags"] == [{"tags": {"Service": "image-service", "Stage": name,
                                               "ManagedBy": "cdktf"}}]
    assert [p["region"] for p in providers if p.get("alias") == "us_east_1"] == ["us-east-1"]


@pytest.mark.parametrize("name", ("dev", "staging", "production"))
def test_real_stages_talk_to_aws_not_an_emulator(stage, name):
    synth = stage(name)
    for p in synth.json["provider"]["aws"]:
        assert "endpoints" not in p and "access_key" not in p
    assert "endpoints" not in synth.json["terraform"]["backend"]["s3"]


@pytest.mark.parametrize("name", ("local", "local-production"))
def test_emulator_stages_send_everything_to_the_loopback_emulator(stage, name):
    synth = stage(name)
    for p in synth.json["provider"]["aws"]:  # every alias, not just the default provider
        # Every service's endpoint is the profile's endpoint_url (not the provider's `endpoints`
        # block, which costs ~6 s per plan); anything else goes to a proxy where nothing listens.
        assert "endpoints" not in p
        assert p["profile"] == "image-service-emulator"
        [config] = p["shared_config_files"]
        assert (synth.directory / config).read_text() == (
            "[profile image-service-emulator]\nendpoint_url = http://127.0.0.1:5050\n")
        assert p["http_proxy"] == p["https_proxy"] == "http://127.0.0.1:9"
        assert p["no_proxy"] == "127.0.0.1"
        assert p["skip_credentials_validation"] is True
        assert p["skip_requesting_account_id"] is True
    backend = synth.json["terraform"]["backend"]["s3"]
    assert backend["endpoints"]["s3"].startswith("http://127.0.0.1:")
    assert backend["use_path_style"] is True


def test_local_production_carries_productions_data_protection(stage):
    twin, production = stage("local-production"), stage("production")
    for tf_type in ("aws_dynamodb_table", "aws_s3_bucket", "aws_cognito_user_pool"):
        assert twin.one(tf_type)["lifecycle"] == production.one(tf_type)["lifecycle"] == {
            "prevent_destroy": True}
    for key in ("deletion_protection_enabled", "point_in_time_recovery"):
        assert twin.one("aws_dynamodb_table")[key] == production.one("aws_dynamodb_table")[key]
    assert twin.one("aws_s3_bucket")["force_destroy"] is False
    assert twin.one("aws_cognito_user_pool")["deletion_protection"] == "ACTIVE"
    assert twin.resources("aws_s3_bucket_versioning") != {}
    assert twin.json["terraform"]["backend"]["s3"]["key"] == (
        "image-service/local-production/terraform.tfstate")


@pytest.mark.parametrize("name", STAGES)
def test_required_provider_accepts_the_mirrored_5_100_0(stage, name):
    assert stage(name).json["terraform"]["required_providers"]["aws"]["version"] == "5.100.0"


@pytest.mark.parametrize("name", STAGES)
def test_outputs(stage, name):
    outputs = set(stage(name).json["output"])
    expected = OUTPUTS | ({"CdnCustomDomain", "ApiCustomDomain"} if name != "local" else set())
    assert outputs == expected


def test_state_bootstrap_bucket_is_versioned_encrypted_private(stacks):
    synth = stacks["image-service-state"]
    assert "local" in synth.json["terraform"]["backend"]
    bucket = synth.one("aws_s3_bucket")
    assert bucket["bucket"] == "lego-moc-image-service-tfstate"
    assert bucket["lifecycle"]["prevent_destroy"] is True
    assert bucket["force_destroy"] is False
    assert synth.one("aws_s3_bucket_versioning")["versioning_configuration"] == {"status": "Enabled"}
    assert synth.one("aws_s3_bucket_server_side_encryption_configuration")["rule"][0][
        "apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
    pab = synth.one("aws_s3_bucket_public_access_block")
    assert all(pab[k] is True for k in ("block_public_acls", "block_public_policy",
                                        "ignore_public_acls", "restrict_public_buckets"))


# The emulator stacks are applied by the deployment tests (tests/deploy), which validate them too.
VALIDATED = ("image-service-dev", "image-service-staging", "image-service-production",
             "image-service-state")


def test_terraform_validate_accepts_every_real_stack(stacks, tmp_path):
    # Every stack uses the same provider, so one `terraform init` serves them all: the others
    # share its .terraform directory and lock file. (Parallel inits also race on Terraform's
    # plugin cache.) The S3 backend needs the network; -backend=false checks the rest offline.
    dirs = []
    for name in VALIDATED:
        synth = stacks[name]
        d = tmp_path / name
        shutil.copytree(synth.directory, d)
        dirs.append(d)
    first = dirs[0]
    terraform(first, "init", "-backend=false", "-input=false", "-no-color")
    for d in dirs[1:]:
        (d / ".terraform").symlink_to(first / ".terraform")
        shutil.copy(first / ".terraform.lock.hcl", d)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip((d.name for d in dirs), pool.map(
            lambda d: terraform(d, "validate", "-no-color", check=False), dirs)))
    failures = {n: r.stdout + r.stderr for n, r in results.items() if r.returncode != 0}
    assert failures == {}
    assert all("The configuration is valid" in r.stdout for r in results.values())
