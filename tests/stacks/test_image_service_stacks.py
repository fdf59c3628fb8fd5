"""The stacks: one per stage, providers, remote state, outputs, and `terraform validate`."""

import json
import shutil

import pytest

from ops.toolchain import terraform
from stacks.settings import EMULATOR_BUCKET_POLICY_GAP, emulator_reason, stage_settings
from tests.conftest import ALL_STACKS, STATE_STACKS

STAGES = ("dev", "staging", "production", "local")
OUTPUTS = {
    "TableName",
    "TableArn",
    "TableStreamArn",
    "BucketName",
    "BucketArn",
    "CloudFrontDomain",
    "CloudFrontDistributionId",
    "ApiEndpoint",
    "ApiId",
    "UserPoolId",
    "UserPoolClientId",
}


def test_one_stack_per_stage_plus_state_bootstraps(stacks):
    assert sorted(stacks) == sorted(ALL_STACKS)


@pytest.mark.parametrize("name", STAGES)
def test_s3_backend_per_stage(stage, name):
    s3 = stage(name).json["terraform"]["backend"]["s3"]
    assert s3["key"] == f"image-service/{name}/terraform.tfstate"
    assert s3["encrypt"] is True
    assert s3["use_lockfile"] is True
    settings = stage_settings(name)
    assert s3["bucket"] == (
        "image-service-tfstate-local"
        if name == "local"
        else f"lego-moc-image-service-tfstate-{settings.account.account_id}"
    )
    assert s3["region"] == "us-east-1"
    assert "dynamodb_table" not in s3


@pytest.mark.parametrize("name", STAGES)
def test_providers_carry_region_and_default_tags(stage, name):
    providers = stage(name).json["provider"]["aws"]
    # The default, CloudFront's us-east-1, the parent zone's account (the delegation) where the
    # stage has custom domains, and the backup copy's region where it backs up.
    settings = stage_settings(name)
    delegated = ["dns_parent"] if settings.domains else []
    copied = ["backup_copy"] if settings.backups else []
    assert sorted(p.get("alias", "") for p in providers) == [
        "",
        *copied,
        *delegated,
        "us_east_1",
    ]
    for p in providers:
        assert p["default_tags"] == [
            {"tags": {"Service": "image-service", "Stage": name, "ManagedBy": "cdktf"}}
        ]
    assert [p["region"] for p in providers if p.get("alias") == "us_east_1"] == ["us-east-1"]
    assert [p["region"] for p in providers if p.get("alias") == "backup_copy"] == (
        ["us-west-2"] if settings.backups else []
    )


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
            "[profile image-service-emulator]\nendpoint_url = http://127.0.0.1:5050\n"
        )
        assert p["http_proxy"] == p["https_proxy"] == "http://127.0.0.1:9"
        assert p["no_proxy"] == "127.0.0.1"
        assert p["skip_credentials_validation"] is True
        # The provider asks the emulator's STS for the account, to check allowed_account_ids.
        assert "skip_requesting_account_id" not in p
        assert p["allowed_account_ids"] == ["123456789012"]
    backend = synth.json["terraform"]["backend"]["s3"]
    assert backend["endpoints"]["s3"].startswith("http://127.0.0.1:")
    assert backend["use_path_style"] is True


def test_local_production_carries_productions_data_protection(stage):
    twin, production = stage("local-production"), stage("production")
    for tf_type in ("aws_dynamodb_table", "aws_s3_bucket", "aws_cognito_user_pool"):
        assert (
            twin.one(tf_type)["lifecycle"]
            == production.one(tf_type)["lifecycle"]
            == {"prevent_destroy": True}
        )
    for key in ("deletion_protection_enabled", "point_in_time_recovery"):
        assert twin.one("aws_dynamodb_table")[key] == production.one("aws_dynamodb_table")[key]
    assert twin.one("aws_s3_bucket")["force_destroy"] is False
    assert twin.one("aws_cognito_user_pool")["deletion_protection"] == "ACTIVE"
    assert twin.resources("aws_s3_bucket_versioning") != {}
    assert twin.json["terraform"]["backend"]["s3"]["key"] == (
        "image-service/local-production/terraform.tfstate"
    )


def _bucket_policy_sids(synth) -> list[str]:
    documents = synth.data("aws_iam_policy_document")
    [document] = [d for name, d in documents.items() if name.startswith("ImageBucket_")]
    return sorted(statement["sid"] for statement in document["statement"])


@pytest.mark.parametrize("name", ("dev", "staging", "production"))
def test_real_stages_refuse_requests_not_made_over_tls(stage, name):
    assert _bucket_policy_sids(stage(name)) == ["AllowCloudFrontRead", "DenyInsecureTransport"]
    assert stage_settings(name).bucket.deny_insecure_transport is True


@pytest.mark.parametrize("name", ("local", "local-production"))
def test_emulator_stages_leave_out_only_the_tls_deny_and_record_why(stage, synth_dir, name):
    # moto would apply the deny to every object request (EMULATOR_BUCKET_POLICY_GAP).
    assert _bucket_policy_sids(stage(name)) == ["AllowCloudFrontRead"]
    assert stage_settings(name).bucket.deny_insecure_transport is False
    assert emulator_reason("bucket.deny_insecure_transport") == EMULATOR_BUCKET_POLICY_GAP
    annotations = json.loads((synth_dir / "manifest.json").read_text())["stacks"][
        f"image-service-{name}"
    ]["annotations"]
    assert [(a["level"], a["message"]) for a in annotations] == [
        (
            "@cdktf/info",
            "policy bucket-deny-insecure-transport waived for this stack: "
            + EMULATOR_BUCKET_POLICY_GAP,
        )
    ]


def test_local_production_has_the_custom_domain_path_except_the_api_domain(stage):
    twin, production = stage("local-production"), stage("production")
    # Production's own zone, delegated from lego-api.com: the emulator starts empty, so the
    # twin creates the parent zone that production looks up in the DNS account.
    zones = {r["name"]: r for r in twin.resources("aws_route53_zone").values()}
    assert sorted(zones) == ["images.lego-api.com", "lego-api.com"]
    assert zones["lego-api.com"]["provider"] == "aws.dns_parent"
    assert [z["name"] for z in production.resources("aws_route53_zone").values()] == [
        "images.lego-api.com"
    ]
    assert [z["name"] for z in production.data("aws_route53_zone").values()] == ["lego-api.com"]
    assert twin.data("aws_route53_zone") == {}
    assert sorted(c["domain_name"] for c in twin.resources("aws_acm_certificate").values()) == [
        "cdn.images.lego-api.com",
        "images.lego-api.com",
    ]
    assert len(twin.resources("aws_acm_certificate_validation")) == 2
    distribution = twin.one("aws_cloudfront_distribution")
    assert distribution["aliases"] == ["cdn.images.lego-api.com"]
    assert (
        distribution["viewer_certificate"]
        == production.one("aws_cloudfront_distribution")["viewer_certificate"]
    )
    # moto adds cloudfront_default_certificate=true to an ACM viewer certificate.
    assert (
        "viewer_certificate[0].cloudfront_default_certificate"
        in distribution["lifecycle"]["ignore_changes"]
    )
    aliases = {
        name: r["type"] for name, r in twin.resources("aws_route53_record").items() if "alias" in r
    }
    assert aliases == {"CdnAliasA": "A", "CdnAliasAAAA": "AAAA"}
    # What moto cannot apply, and only that, is left out (EMULATOR_API_DOMAIN_GAP).
    for tf_type in ("aws_apigatewayv2_domain_name", "aws_apigatewayv2_api_mapping"):
        assert twin.resources(tf_type) == {} and len(production.resources(tf_type)) == 1
    assert "ApiCustomDomain" not in twin.json["output"]
    assert twin.json["output"]["CdnCustomDomain"]["value"] == "cdn.images.lego-api.com"


def test_the_fast_local_stage_leaves_the_custom_domains_out(stage):
    # Every Route53 change waits 10-30 s for INSYNC in the provider (stacks/settings/emulator.py).
    local = stage("local")
    for tf_type in ("aws_route53_zone", "aws_route53_record", "aws_acm_certificate"):
        assert local.resources(tf_type) == {}
    assert local.one("aws_cloudfront_distribution")["viewer_certificate"] == {
        "cloudfront_default_certificate": True
    }


@pytest.mark.parametrize("name", STAGES)
def test_required_provider_accepts_the_mirrored_5_100_0(stage, name):
    assert stage(name).json["terraform"]["required_providers"]["aws"]["version"] == "5.100.0"


@pytest.mark.parametrize("name", STAGES)
def test_outputs(stage, name):
    outputs = set(stage(name).json["output"])
    expected = OUTPUTS | {"AlarmTopicArn", "GlobalAlarmTopicArn"}
    expected |= {"CdnCustomDomain", "ApiCustomDomain"} if name != "local" else set()
    expected |= {"WebAclArn"} if name in ("staging", "production") else set()
    expected |= {"VpcId"} if name in ("staging", "production", "local-production") else set()
    expected |= {"CacheEndpoint", "CachePort"} if name in ("staging", "production") else set()
    backed_up = ("staging", "production", "local-production")
    expected |= {"BackupVaultName", "BackupCopyVaultArn"} if name in backed_up else set()
    assert outputs == expected


@pytest.mark.parametrize("stage_name", ("dev", "staging", "production"))
def test_each_account_has_its_own_state_bucket_bootstrap(stacks, stage_name):
    account = stage_settings(stage_name).account.account_id
    synth = stacks[f"image-service-state-{account}"]
    # Its own state lives in the bucket it creates (ops/bootstrap.py moves it there).
    assert synth.json["terraform"]["backend"] == {
        "s3": {
            "bucket": f"lego-moc-image-service-tfstate-{account}",
            "key": "image-service/bootstrap/terraform.tfstate",
            "region": "us-east-1",
            "encrypt": True,
            "use_lockfile": True,
        }
    }
    [provider] = synth.json["provider"]["aws"]
    assert provider["allowed_account_ids"] == [account]
    bucket = synth.one("aws_s3_bucket")
    assert bucket["bucket"] == f"lego-moc-image-service-tfstate-{account}"
    assert bucket["lifecycle"]["prevent_destroy"] is True
    assert bucket["force_destroy"] is False
    assert synth.one("aws_s3_bucket_versioning")["versioning_configuration"] == {
        "status": "Enabled"
    }
    assert synth.one("aws_s3_bucket_server_side_encryption_configuration")["rule"][0][
        "apply_server_side_encryption_by_default"
    ] == {"sse_algorithm": "AES256"}
    pab = synth.one("aws_s3_bucket_public_access_block")
    assert all(
        pab[k] is True
        for k in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )


# One stack of each shape: staging is dev's shape with production's versioning, and the state
# stacks of the three accounts differ only in their names (tests/stacks/golden has them all).
VALIDATED = (
    "image-service-dev",
    "image-service-production",
    "image-service-local",
    "image-service-local-production",
    STATE_STACKS[0],
    "image-service-state-local",
)


def test_terraform_validate_accepts_each_stack_shape_and_the_guides_stack_with_a_handler(
    stacks, handler_stack, tmp_path
):
    """A stack of each shape, and image-service-dev after CONTRIBUTING.md's "Adding a handler"
    block, validated in one Terraform run: a root module that calls each as a child module
    (Terraform validates child modules exactly as it does a root, and says so; it ignores their
    backend blocks, which the S3 backend could only check with the network anyway). One
    provider schema load instead of one per stack."""
    copies = {name: tmp_path / name for name in VALIDATED}
    for name in VALIDATED:
        shutil.copytree(stacks[name].directory, copies[name])
    copies["guide-handler"] = tmp_path / "guide-handler"
    shutil.copytree(handler_stack.directory, copies["guide-handler"])
    root = tmp_path / "root"
    root.mkdir()
    (root / "main.tf.json").write_text(
        json.dumps({"module": {name: {"source": f"../{name}"} for name in copies}})
    )
    terraform(root, "init", "-backend=false", "-input=false", "-no-color")
    modules = json.loads((root / ".terraform" / "modules" / "modules.json").read_text())
    assert {m["Key"] for m in modules["Modules"]} == {"", *copies}
    result = terraform(root, "validate", "-json", "-no-color", check=False)
    verdict = json.loads(result.stdout)
    errors = [d for d in verdict["diagnostics"] if d["severity"] == "error"]
    assert (result.returncode, verdict["valid"], errors) == (0, True, [])
    # Only what calling a root as a child module, and the fast emulator stage, bring with them.
    warnings = {d["summary"] for d in verdict["diagnostics"] if d["severity"] == "warning"}
    assert warnings <= {"Backend configuration ignored", "Argument is deprecated"}, warnings


@pytest.mark.parametrize("name", ALL_STACKS)
def test_every_stack_pins_terraform_and_the_exact_provider(stacks, name):
    terraform_block = stacks[name].json["terraform"]
    assert terraform_block["required_version"] == ">= 1.10, < 2.0"
    assert terraform_block["required_providers"]["aws"] == {
        "source": "hashicorp/aws",
        "version": "5.100.0",
    }


@pytest.mark.parametrize("name", ("dev", "staging", "production"))
def test_every_provider_of_a_real_stage_is_pinned_to_its_account(stage, name):
    from stacks.settings.stages import DNS_PARENT

    account = stage_settings(name).account.account_id
    providers = {p.get("alias", ""): p for p in stage(name).json["provider"]["aws"]}
    assert {alias: p["allowed_account_ids"] for alias, p in providers.items()} == {
        "": [account],
        "us_east_1": [account],
        # The backups' copies: another region of the stage's own account.
        **({"backup_copy": [account]} if name != "dev" else {}),
        # The NS record is written in the account that holds lego-api.com, and only there.
        "dns_parent": [DNS_PARENT.parent_account_id],
    }
    # Placeholders ship without a role or profile: the environment's credentials act; the
    # parent's account is reached through the stage's writer there, a variable that review
    # plans set to the reader (ops/review.py).
    own = [p for alias, p in providers.items() if alias != "dns_parent"]
    assert all("assume_role" not in p and "profile" not in p for p in own)
    assert providers["dns_parent"]["assume_role"] == [
        {"role_arn": "${var.dns_delegation_role_arn}", "session_name": f"image-service-{name}"}
    ]
    variable = stage(name).json["variable"]["dns_delegation_role_arn"]
    assert variable["default"] == (
        f"arn:aws:iam::{DNS_PARENT.parent_account_id}:role/image-service-dns-write-{name}"
    )


def test_a_stage_role_and_profile_reach_every_provider_and_the_state_backend(variant):
    from dataclasses import replace

    role = "arn:aws:iam::111111111111:role/image-service-deploy"
    dev = stage_settings("dev")
    synth = variant("dev", account=replace(dev.account, role_arn=role, profile="lego-dev"))
    stage_providers = [p for p in synth.json["provider"]["aws"] if p.get("alias") != "dns_parent"]
    assert len(stage_providers) == 2
    for provider in stage_providers:
        assert provider["allowed_account_ids"] == ["111111111111"]
        assert provider["profile"] == "lego-dev"
        assert provider["assume_role"] == [{"role_arn": role, "session_name": "image-service-dev"}]
    backend = synth.json["terraform"]["backend"]["s3"]
    assert backend["profile"] == "lego-dev"
    assert backend["assume_role"] == {"role_arn": role, "session_name": "image-service-state"}


def test_the_emulator_stacks_are_told_apart_from_the_real_ones(stacks):
    """What makes a changed backend simply re-initialised (ops/workdir.py), the emulator's state
    bootstrap included, whose state is local: only ever an emulator's stack."""
    from ops.workdir import is_emulator_stack

    emulator = {
        "image-service-local",
        "image-service-local-production",
        "image-service-state-local",
    }
    assert {name for name, synth in stacks.items() if is_emulator_stack(synth.directory)} == (
        emulator
    )
