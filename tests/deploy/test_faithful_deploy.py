"""The faithful emulator stage: image-service-local-production applied with production's exact
resource shapes, including those the fast `local` stage leaves out to skip the AWS provider's
fixed waits (stacks/settings.py, _on_emulator): the bucket's lifecycle rules as an
aws_s3_bucket_lifecycle_configuration resource (~55 s of read-back polling on create), an
enabled distribution that a destroy would disable and delete, and the custom-domain path (hosted
zone, DNS-validated certificates, the distribution's alias and its A/AAAA records; only the API's
custom domain is left out, which moto cannot apply). Re-planned empty.

The apply runs in the background from the start of the session (tests/deploy/faithful.py), so
its ~55 s of waiting costs no pytest worker; this module, scheduled last, inspects the result.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ops.toolchain import terraform
from ops.workdir import stack_outputs
from stacks.settings import EMULATOR_API_DOMAIN_GAP, stage_settings
from tests.deploy import faithful
from tests.deploy.deployment import Deployment, replan

pytestmark = pytest.mark.emulator
STACK = faithful.STACK


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    """The background deployment's emulator and synthesis (overrides conftest's fixture)."""
    run_dir = os.environ.get(faithful.RUN_ENV)
    if not run_dir:
        pytest.fail(
            f"{faithful.RUN_ENV} is not set: the session starts the faithful deployment "
            "when this module is selected (tests/conftest.py, pytest_configure)"
        )
    outcome = faithful.result(Path(run_dir))
    assert "error" not in outcome, outcome["error"]
    return Deployment.at(outcome["endpoint"], Path(outcome["outdir"]), (faithful.STAGE,))


@pytest.fixture(scope="module")
def stack_dir(deployment) -> Path:
    return deployment.stack_dir(STACK)


@pytest.fixture(scope="module")
def outputs(stack_dir, emulator_env):
    return stack_outputs(stack_dir, emulator_env)


def test_the_lifecycle_rules_are_a_lifecycle_configuration_resource(
    stack_dir, emulator_env, outputs, aws
):
    state = terraform(stack_dir, "state", "list", env=emulator_env).stdout.split()
    assert [a for a in state if a.startswith("aws_s3_bucket_lifecycle_configuration.")]
    assert (
        "lifecycle_rule"
        not in json.loads((stack_dir / "cdk.tf.json").read_text())["resource"]["aws_s3_bucket"][
            next(a.split(".")[1] for a in state if a.startswith("aws_s3_bucket."))
        ]
    )
    rules = {
        r["ID"]: r
        for r in aws("s3").get_bucket_lifecycle_configuration(Bucket=outputs["BucketName"])["Rules"]
    }
    assert rules["intelligent-tiering"]["Transitions"] == [
        {"Days": 0, "StorageClass": "INTELLIGENT_TIERING"}
    ]
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1
    }
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 30
    }
    assert rules["expire-noncurrent-versions"]["Expiration"] == {"ExpiredObjectDeleteMarker": True}


def test_the_distribution_is_enabled_and_not_retained(stack_dir, outputs, aws):
    config = aws("cloudfront").get_distribution_config(Id=outputs["CloudFrontDistributionId"])[
        "DistributionConfig"
    ]
    assert config["Enabled"] is True
    distribution = next(
        iter(
            json.loads((stack_dir / "cdk.tf.json").read_text())["resource"][
                "aws_cloudfront_distribution"
            ].values()
        )
    )
    assert distribution["enabled"] is True and "retain_on_delete" not in distribution


def test_a_re_plan_finds_nothing_to_change(stack_dir, emulator_env, outputs):
    proc = replan(stack_dir, emulator_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---- the custom-domain path (story acceptance criterion 4) -----------------------------------
@pytest.fixture(scope="module")
def certificates(aws) -> dict[str, dict]:
    """The stack's ACM certificates by domain name (the emulator holds no others)."""
    acm = aws("acm")
    return {
        c["DomainName"]: c
        for c in (
            acm.describe_certificate(CertificateArn=s["CertificateArn"])["Certificate"]
            for s in acm.list_certificates()["CertificateSummaryList"]
        )
    }


@pytest.fixture(scope="module")
def zone_records(aws, outputs) -> dict[tuple[str, str], dict]:
    """The hosted zone's records by (name without the final dot, type)."""
    r53 = aws("route53")
    [zone] = [z for z in r53.list_hosted_zones()["HostedZones"] if z["Name"] == "lego-api.com."]
    records = r53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    return {(r["Name"].rstrip("."), r["Type"]): r for r in records}


def test_the_cdn_and_api_certificates_are_issued_for_their_hostnames(certificates, outputs):
    production = stage_settings("production").domains
    assert outputs["CdnCustomDomain"] == production.cdn_hostname == "cdn.images.lego-api.com"
    assert sorted(certificates) == sorted([production.cdn_hostname, production.api_hostname])
    for hostname, certificate in certificates.items():
        assert certificate["Status"] == "ISSUED"
        assert certificate["Type"] == "AMAZON_ISSUED"
        assert certificate["SubjectAlternativeNames"] == [hostname]
        [validation] = certificate["DomainValidationOptions"]
        assert validation["ValidationMethod"] == "DNS"
        assert validation["ValidationStatus"] == "SUCCESS"
    # CloudFront only takes certificates from us-east-1 (the aliased provider).
    assert certificates[production.cdn_hostname]["CertificateArn"].startswith(
        "arn:aws:acm:us-east-1:"
    )


def test_the_zone_holds_each_certificates_validation_record(certificates, zone_records):
    for certificate in certificates.values():
        record = certificate["DomainValidationOptions"][0]["ResourceRecord"]
        assert record["Type"] == "CNAME"
        stored = zone_records[(record["Name"].rstrip("."), "CNAME")]
        assert stored["ResourceRecords"] == [{"Value": record["Value"]}]


def test_the_distribution_answers_to_its_alias_with_the_issued_certificate(
    aws, outputs, certificates
):
    hostname = outputs["CdnCustomDomain"]
    config = aws("cloudfront").get_distribution_config(Id=outputs["CloudFrontDistributionId"])[
        "DistributionConfig"
    ]
    assert config["Aliases"] == {"Quantity": 1, "Items": [hostname]}
    viewer = config["ViewerCertificate"]
    assert viewer["ACMCertificateArn"] == certificates[hostname]["CertificateArn"]
    assert viewer["SSLSupportMethod"] == "sni-only"
    assert viewer["MinimumProtocolVersion"] == "TLSv1.2_2021"


def test_the_zone_aliases_the_cdn_hostname_to_the_distribution(zone_records, outputs):
    for record_type in ("A", "AAAA"):
        alias = zone_records[(outputs["CdnCustomDomain"], record_type)]["AliasTarget"]
        assert alias == {
            "HostedZoneId": "Z2FDTNDATAQYW2",  # CloudFront's alias zone
            "DNSName": outputs["CloudFrontDomain"],
            "EvaluateTargetHealth": False,
        }


def test_only_the_api_custom_domain_is_left_out_and_says_why(aws, outputs, stack_dir):
    settings = stage_settings("local-production").domains
    assert settings.enabled and settings.api_domain_omitted_because == EMULATOR_API_DOMAIN_GAP
    assert "ApiCustomDomain" not in outputs
    assert aws("apigatewayv2").get_domain_names()["Items"] == []
    config = json.loads((stack_dir / "cdk.tf.json").read_text())["resource"]
    assert "aws_apigatewayv2_domain_name" not in config
    assert "aws_apigatewayv2_api_mapping" not in config
    # Production itself has all three.
    assert stage_settings("production").domains.api_domain_omitted_because is None


def test_cdn_standard_logs_v2_are_delivered_to_their_log_group(outputs, aws):
    """Production's CloudFront standard logging (v2), applied with its exact shape."""
    logs = aws("logs")
    [source] = logs.describe_delivery_sources()["deliverySources"]
    assert source["name"] == "image-service-local-production-cdn"
    assert source["logType"] == "ACCESS_LOGS"
    assert source["resourceArns"][0].endswith(f"distribution/{outputs['CloudFrontDistributionId']}")
    [group] = logs.describe_log_groups(logGroupNamePrefix="/aws/cloudfront/")["logGroups"]
    assert (group["logGroupName"], group["retentionInDays"]) == (
        "/aws/cloudfront/image-service-local-production",
        90,
    )
    [delivery] = logs.describe_deliveries()["deliveries"]
    assert delivery["deliverySourceName"] == source["name"]
    [destination] = logs.describe_delivery_destinations()["deliveryDestinations"]
    assert delivery["deliveryDestinationArn"] == destination["arn"]
    assert destination["deliveryDestinationConfiguration"]["destinationResourceArn"].startswith(
        group["arn"].removesuffix(":*")
    )
