"""image-service-local-production as the session applied it (tests/deploy/shared.py): production's
exact resource shapes, including those the fast `local` stage leaves out to skip the AWS
provider's fixed waits (stacks/settings/emulator.py, EMULATOR_TABLE): the bucket's lifecycle
rules as an aws_s3_bucket_lifecycle_configuration resource (~55 s of read-back polling), an
enabled distribution that a destroy would disable and delete, the custom-domain path (hosted
zone, DNS-validated certificates, the distribution's alias and its A/AAAA records; only the API's
custom domain is left out, which moto cannot apply) and the CDN's standard logs. Read back and
re-planned empty.

Then production's data protection, proven where it can fire (Terraform only refuses to destroy
what is in its state): the stack is given data, `terraform destroy` and the project's
`bin/cdktf destroy` are tried, and the data is still there. (`cdktf destroy` runs the same
Terraform, whose prevent_destroy refuses the plan: the cdktf CLI's own path is tested on the
local stack, test_local_deploy.py.)

The apply runs in the background from the start of the session, so its ~55 s of waiting costs
no pytest worker; this module is scheduled last.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass

import pytest

from ops.review import REVIEW_LOCKING
from ops.toolchain import ROOT, terraform
from ops.workdir import stack_outputs
from stacks.errors import EXIT_REFUSED
from stacks.settings import EMULATOR_API_DOMAIN_GAP, emulator_reason, stage_settings
from tests.deploy.shared import SECOND_NAME_CERTIFICATE

pytestmark = pytest.mark.emulator
STACK = "image-service-local-production"


@pytest.fixture(scope="module")
def deployment(production):
    return production


@pytest.fixture(scope="module")
def stack_dir(deployment):
    return deployment.stack_dir(STACK)


@pytest.fixture(scope="module")
def env(deployment):
    return deployment.env


@pytest.fixture(scope="module")
def outputs(stack_dir, env):
    return stack_outputs(stack_dir, env)


@pytest.fixture(scope="module")
def aws(deployment):
    return deployment.client


@pytest.fixture(scope="module")
def config(stack_dir) -> dict:
    return json.loads((stack_dir / "cdk.tf.json").read_text())


# ---- production's shapes ---------------------------------------------------------------------
def test_the_lifecycle_rules_are_a_lifecycle_configuration_resource(
    deployment, config, outputs, aws
):
    state = deployment.state_addresses(STACK)
    assert [a for a in state if a.startswith("aws_s3_bucket_lifecycle_configuration.")]
    [bucket] = [
        b
        for b in config["resource"]["aws_s3_bucket"].values()
        if b["bucket"] == outputs["BucketName"]
    ]
    assert "lifecycle_rule" not in bucket
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


def test_the_distribution_is_enabled_and_not_retained(config, outputs, aws):
    applied = aws("cloudfront").get_distribution_config(Id=outputs["CloudFrontDistributionId"])[
        "DistributionConfig"
    ]
    assert applied["Enabled"] is True
    [distribution] = config["resource"]["aws_cloudfront_distribution"].values()
    assert distribution["enabled"] is True and "retain_on_delete" not in distribution


def test_the_review_of_a_re_plan_finds_nothing_to_change_and_exits_0(deployment, tmp_path):
    """`bin/cdktf review`, as pull requests run it: the whole deployment re-planned, and
    nothing would change (every attribute moto reads back is what was applied, after the
    emulator's named exceptions, cdn.ignore_drift_in)."""
    result = deployment.run(
        str(ROOT / "bin" / "cdktf"),
        "review",
        STACK,
        "--skip-synth",
        "--outdir",
        str(deployment.outdir),
        "--output",
        str(tmp_path / "review.md"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"## Plan review\n\n{REVIEW_LOCKING}\n\n- **{STACK}**: no changes\n"
    assert (tmp_path / "review.md").read_text() == result.stdout


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


def _zone(aws, name: str) -> tuple[dict, dict[tuple[str, str], dict]]:
    """The hosted zone `name` as Route53 describes it, and its records by (name without the
    final dot, type)."""
    r53 = aws("route53")
    [zone] = [z for z in r53.list_hosted_zones()["HostedZones"] if z["Name"] == f"{name}."]
    records = r53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    return r53.get_hosted_zone(Id=zone["Id"]), {
        (r["Name"].rstrip("."), r["Type"]): r for r in records
    }


@pytest.fixture(scope="module")
def stage_zone(aws) -> tuple[dict, dict[tuple[str, str], dict]]:
    """Production's own zone (images.lego-api.com)."""
    return _zone(aws, stage_settings("local-production").domains.zone_name)


@pytest.fixture(scope="module")
def zone_records(stage_zone) -> dict[tuple[str, str], dict]:
    return stage_zone[1]


def test_the_parent_zone_delegates_the_stage_zone_to_its_name_servers(aws, stage_zone):
    """The NS record in lego-api.com (written through the parent account's provider) names
    exactly the name servers Route53 gave the stage's zone: resolvers reach its records."""
    described, records = stage_zone
    name_servers = described["DelegationSet"]["NameServers"]
    assert len(name_servers) == 4
    _, parent_records = _zone(aws, "lego-api.com")
    delegation = parent_records[("images.lego-api.com", "NS")]
    assert delegation["TTL"] == 172800
    assert sorted(r["Value"].rstrip(".") for r in delegation["ResourceRecords"]) == sorted(
        n.rstrip(".") for n in name_servers
    )
    # Only Amazon may issue certificates for the stage's names.
    caa = records[("images.lego-api.com", "CAA")]
    assert sorted(r["Value"] for r in caa["ResourceRecords"]) == [
        '0 issue "amazon.com"',
        '0 issuewild "amazon.com"',
    ]


def test_the_cdn_and_api_certificates_are_issued_for_their_hostnames(certificates, outputs):
    production = stage_settings("production").domains
    assert outputs["CdnCustomDomain"] == production.cdn_hostname == "cdn.images.lego-api.com"
    shipped = [production.cdn_hostname, production.api_hostname]
    assert sorted(certificates) == sorted([*shipped, SECOND_NAME_CERTIFICATE[0]])
    for hostname, certificate in certificates.items():
        if hostname not in shipped:
            continue
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
        for option in certificate["DomainValidationOptions"]:
            record = option["ResourceRecord"]
            assert record["Type"] == "CNAME"
            stored = zone_records[(record["Name"].rstrip("."), "CNAME")]
            assert stored["ResourceRecords"] == [{"Value": record["Value"]}]


def test_a_certificate_with_a_second_name_is_validated_for_both(certificates):
    """One validation record per name, keyed by the name (finding 10): planned, applied and
    re-planned empty with the deployment (the review test above)."""
    name, second = SECOND_NAME_CERTIFICATE
    certificate = certificates[name]
    assert certificate["Status"] == "ISSUED"
    assert sorted(certificate["SubjectAlternativeNames"]) == sorted([name, second])
    assert sorted(o["DomainName"] for o in certificate["DomainValidationOptions"]) == sorted(
        [name, second]
    )
    assert {o["ValidationStatus"] for o in certificate["DomainValidationOptions"]} == {"SUCCESS"}


def test_the_distribution_answers_to_its_alias_with_the_issued_certificate(
    aws, outputs, certificates
):
    hostname = outputs["CdnCustomDomain"]
    applied = aws("cloudfront").get_distribution_config(Id=outputs["CloudFrontDistributionId"])[
        "DistributionConfig"
    ]
    assert applied["Aliases"] == {"Quantity": 1, "Items": [hostname]}
    viewer = applied["ViewerCertificate"]
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


def test_only_the_api_custom_domain_is_left_out_and_says_why(aws, outputs, config):
    settings = stage_settings("local-production").domains
    assert settings is not None and settings.api_domain is False
    assert emulator_reason("domains.api_domain") == EMULATOR_API_DOMAIN_GAP
    assert "ApiCustomDomain" not in outputs
    assert aws("apigatewayv2").get_domain_names()["Items"] == []
    assert "aws_apigatewayv2_domain_name" not in config["resource"]
    assert "aws_apigatewayv2_api_mapping" not in config["resource"]
    # Production itself has all three.
    production = stage_settings("production").domains
    assert production is not None and production.api_domain is True


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


# ---- production's data protection ------------------------------------------------------------
ITEM = {"PK": {"S": "IMAGE#42"}, "SK": {"S": "METADATA"}, "title": {"S": "Millennium Falcon"}}
OBJECT_KEY, OBJECT_BODY = "images/42.png", b"\x89PNG-falcon"


@pytest.fixture(scope="module")
def protected(deployment) -> list[str]:
    """The addresses of the stack's table, bucket and user pool."""
    return deployment.stateful_addresses(STACK)


def test_the_user_pool_mails_through_its_own_ses_identity(outputs, aws):
    pool = aws("cognito-idp").describe_user_pool(UserPoolId=outputs["UserPoolId"])["UserPool"]
    email = stage_settings("production").auth.email
    assert pool["EmailConfiguration"] == {
        **pool["EmailConfiguration"],
        "EmailSendingAccount": "DEVELOPER",
        "SourceArn": email.source_arn,
        "From": email.from_address,
    }


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
    # The table, the image bucket, the user pool, and the backups' vaults and their locks (and
    # nothing else of another type).
    assert {address.split(".")[0] for address in protected} == {
        "aws_dynamodb_table",
        "aws_s3_bucket",
        "aws_cognito_user_pool",
        "aws_backup_vault",
        "aws_backup_vault_lock_configuration",
    }


@dataclass
class DestroyAttempts:
    """The routine ways to destroy the stack, tried in turn on the stack holding data."""

    terraform: subprocess.CompletedProcess
    wrapper: subprocess.CompletedProcess
    state_before: list[str]
    state_after: list[str]


@pytest.fixture(scope="module")
def destroy_attempts(deployment, stack_dir, env, outputs, aws):
    aws("dynamodb").put_item(TableName=outputs["TableName"], Item=ITEM)
    aws("s3").put_object(Bucket=outputs["BucketName"], Key=OBJECT_KEY, Body=OBJECT_BODY)
    state_before = deployment.state_addresses(STACK)
    plain = terraform(
        stack_dir, "destroy", "-auto-approve", "-input=false", "-no-color", env=env, check=False
    )
    wrapper = deployment.wrapper_destroy(STACK)
    state_after = deployment.state_addresses(STACK)
    return DestroyAttempts(plain, wrapper, state_before, state_after)


def _named(protected: list[str]) -> list[str]:
    """What Terraform names refusing the destroy: each protected resource, but a backup vault
    through its lock, which must go first and is refused first (Terraform then plans nothing
    that depends on it)."""
    return [a for a in protected if not a.startswith("aws_backup_vault.")]


def _refused_by_prevent_destroy(text: str, protected: list[str]) -> None:
    # Terraform wraps its messages; cdktf adds colours and the construct path after the address.
    text = " ".join(re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text).split())
    assert "Instance cannot be destroyed" in text, text
    assert any(a.startswith("aws_backup_vault_lock_configuration.") for a in _named(protected))
    for address in _named(protected):
        assert re.search(
            re.escape(f"Resource {address}") + r"( \([^)]*\))? has "
            r"lifecycle\.prevent_destroy set",
            text,
        ), address


def test_terraform_destroy_is_refused(destroy_attempts, protected):
    assert destroy_attempts.terraform.returncode == 1
    _refused_by_prevent_destroy(destroy_attempts.terraform.stderr, protected)


def test_the_project_wrapper_refuses_destroy_before_terraform_runs(destroy_attempts, protected):
    proc = destroy_attempts.wrapper
    assert proc.returncode == EXIT_REFUSED, proc.stdout + proc.stderr
    assert f"refusing the plan for {STACK}" in proc.stderr
    for address in _named(protected):
        assert f"delete {address}" in proc.stderr
    assert "[lifecycle.prevent_destroy]" in proc.stderr


def test_the_data_and_the_state_are_still_there(destroy_attempts, outputs, aws, protected):
    assert destroy_attempts.state_after == destroy_attempts.state_before
    assert set(protected) <= set(destroy_attempts.state_after)
    item = aws("dynamodb").get_item(
        TableName=outputs["TableName"], Key={"PK": ITEM["PK"], "SK": ITEM["SK"]}
    )["Item"]
    assert item == ITEM
    body = aws("s3").get_object(Bucket=outputs["BucketName"], Key=OBJECT_KEY)["Body"].read()
    assert body == OBJECT_BODY
    pool = aws("cognito-idp").describe_user_pool(UserPoolId=outputs["UserPoolId"])["UserPool"]
    assert pool["Id"] == outputs["UserPoolId"]


# ---- monitoring and WAF (issue 27), as applied on the emulator ----------------------------------
def test_the_alarms_are_applied_with_their_actions_on_the_encrypted_topics(aws, config):
    expected = {a["alarm_name"] for a in config["resource"]["aws_cloudwatch_metric_alarm"].values()}
    regional = {
        a["AlarmName"]: a
        for a in aws("cloudwatch").describe_alarms(AlarmNamePrefix=STACK)["MetricAlarms"]
    }
    assert set(regional) == expected  # us-east-1 is the stack's region: every alarm is here
    topics = {
        t["TopicArn"].rsplit(":", 1)[1]: t["TopicArn"] for t in aws("sns").list_topics()["Topics"]
    }
    for name in (f"{STACK}-alarms", f"{STACK}-us-east-1-alarms"):
        attributes = aws("sns").get_topic_attributes(TopicArn=topics[name])["Attributes"]
        assert attributes["KmsMasterKeyId"].startswith("arn:aws:kms:us-east-1:")
        [subscription] = aws("sns").list_subscriptions_by_topic(TopicArn=topics[name])[
            "Subscriptions"
        ]
        assert subscription["Endpoint"] == "image-service-alerts@lego-moc.com"
    cdn = regional[f"{STACK}-cdn-5xx-error-rate"]
    assert cdn["AlarmActions"] == [topics[f"{STACK}-us-east-1-alarms"]]
    assert {"Name": "Region", "Value": "Global"} in cdn["Dimensions"]
    rate = regional[f"{STACK}-api-5xx-rate"]
    assert sorted(m["Id"] for m in rate["Metrics"]) == ["part", "rate", "total"]
    [expression] = [m for m in rate["Metrics"] if m["Id"] == "rate"]
    assert expression["Expression"] == "IF(total > 0, part / total, 0)"
    assert aws("cloudwatch").get_dashboard(DashboardName=STACK)["DashboardName"] == STACK


def test_the_web_acl_is_in_front_of_the_distribution_and_logs(aws, outputs):
    waf = aws("wafv2")
    [summary] = waf.list_web_acls(Scope="CLOUDFRONT")["WebACLs"]
    acl = waf.get_web_acl(Name=summary["Name"], Scope="CLOUDFRONT", Id=summary["Id"])["WebACL"]
    assert [r["Name"] for r in sorted(acl["Rules"], key=lambda r: r["Priority"])] == [
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAnonymousIpList",
        "rate-per-ip",
    ]
    assert outputs["WebAclArn"] == acl["ARN"]
    config = aws("cloudfront").get_distribution_config(Id=outputs["CloudFrontDistributionId"])
    assert config["DistributionConfig"]["WebACLId"] == acl["ARN"]
    logging = waf.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"]
    assert logging["LogDestinationConfigs"][0].endswith(f":log-group:aws-waf-logs-{STACK}-cdn")


# ---- the cache tier's network (issue 28), as applied on the emulator ---------------------------
@pytest.fixture(scope="module")
def vpc(aws, outputs) -> dict:
    [found] = aws("ec2").describe_vpcs(VpcIds=[outputs["VpcId"]])["Vpcs"]
    return found


def test_the_network_is_applied_with_a_private_subnet_per_zone(aws, vpc):
    ec2 = aws("ec2")
    assert vpc["CidrBlock"] == "10.20.0.0/16"
    for attribute in ("enableDnsSupport", "enableDnsHostnames"):
        key = attribute[0].upper() + attribute[1:]
        assert ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute=attribute)[key]["Value"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])[
        "Subnets"
    ]
    assert sorted(
        (s["CidrBlock"], s["AvailabilityZoneId"], s["MapPublicIpOnLaunch"]) for s in subnets
    ) == [("10.20.0.0/20", "use1-az1", False), ("10.20.16.0/20", "use1-az2", False)]
    # No way to the internet: no internet gateway, no NAT, no default route.
    vpc_filter = [{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}]
    assert ec2.describe_internet_gateways(Filters=vpc_filter)["InternetGateways"] == []
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    routes = [r for t in tables["RouteTables"] for r in t["Routes"]]
    assert not [r for r in routes if r.get("DestinationCidrBlock") == "0.0.0.0/0"]


def test_s3_and_dynamodb_are_reached_through_gateway_endpoints(aws, vpc):
    ec2 = aws("ec2")
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    found = {e["ServiceName"]: e for e in endpoints["VpcEndpoints"]}
    assert sorted(found) == ["com.amazonaws.us-east-1.dynamodb", "com.amazonaws.us-east-1.s3"]
    private = {
        t["RouteTableId"]
        for t in ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])[
            "RouteTables"
        ]
        if t["Associations"] and not t["Associations"][0].get("Main")
    }
    assert len(private) == 2
    for endpoint in found.values():
        assert endpoint["VpcEndpointType"] == "Gateway"
        assert set(endpoint["RouteTableIds"]) == private


def test_the_vpcs_flow_logs_go_to_their_log_group(aws, vpc):
    [flow] = aws("ec2").describe_flow_logs(
        Filters=[{"Name": "resource-id", "Values": [vpc["VpcId"]]}]
    )["FlowLogs"]
    assert (flow["TrafficType"], flow["LogDestinationType"], flow["MaxAggregationInterval"]) == (
        "ALL",
        "cloud-watch-logs",
        600,
    )
    assert flow["LogDestination"].endswith(f":log-group:/aws/vpc/{STACK}")
    [group] = aws("logs").describe_log_groups(logGroupNamePrefix=f"/aws/vpc/{STACK}")["logGroups"]
    assert group["retentionInDays"] == 90
    role = aws("iam").get_role(RoleName=f"{STACK}-flow-logs")["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith(
        ":policy/image-service-boundary"
    )
    assert flow["DeliverLogsPermissionArn"] == role["Arn"]


def test_a_handler_joins_the_network_with_its_own_group(aws, vpc):
    """The networked test handler (tests/deploy/shared.py): in the private subnets with a
    security group of its own, no ingress, HTTPS out to the endpoints' prefix lists only. Its
    cache grant cannot be applied here: the emulator keeps the cache off (its reason below)."""
    from tests.deploy.shared import NETWORKED_FUNCTION

    ec2 = aws("ec2")
    config = aws("lambda").get_function_configuration(FunctionName=NETWORKED_FUNCTION)
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    assert sorted(config["VpcConfig"]["SubnetIds"]) == sorted(
        s["SubnetId"] for s in subnets["Subnets"]
    )
    [group_id] = config["VpcConfig"]["SecurityGroupIds"]
    [group] = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    assert (group["GroupName"], group["VpcId"], group["IpPermissions"]) == (
        NETWORKED_FUNCTION,
        vpc["VpcId"],
        [],
    )
    lists = {
        p["PrefixListId"]: p["PrefixListName"] for p in ec2.describe_prefix_lists()["PrefixLists"]
    }
    # (moto returns the two rules merged and without their descriptions, which the synthesized
    # JSON's test asserts: tests/constructs/test_cache.py)
    egress = sorted(
        (rule["IpProtocol"], rule["FromPort"], rule["ToPort"], lists[p["PrefixListId"]])
        for rule in group["IpPermissionsEgress"]
        for p in rule.get("PrefixListIds", [])
    )
    assert egress == [
        ("tcp", 443, 443, "com.amazonaws.us-east-1.dynamodb"),
        ("tcp", 443, 443, "com.amazonaws.us-east-1.s3"),
    ]
    assert not [r for r in group["IpPermissionsEgress"] if r.get("IpRanges")]
    role = config["Role"].rsplit("/", 1)[1]
    [policy] = aws("iam").list_role_policies(RoleName=role)["PolicyNames"]
    document = aws("iam").get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
    statements = {s["Sid"]: s for s in document["Statement"]}
    assert statements["NetworkInterfaces"]["Resource"] == "*"
    assert "ec2:CreateNetworkInterface" in statements["NetworkInterfaces"]["Action"]
    assert "ConnectToCache" not in statements


def test_the_cache_is_left_out_on_the_emulator_and_says_why(outputs, config):
    assert {"CacheEndpoint", "CachePort"} & set(outputs) == set()
    assert not [t for t in config["resource"] if t.startswith("aws_elasticache")]
    assert stage_settings("local-production").cache is None
    assert "CacheClusterNotFound" in emulator_reason("cache")


def test_the_deploy_role_is_granted_every_action_terraform_called(
    deployment, destroy_attempts, stacks, catalogue
):
    """Issue 35: each AWS action Terraform called for production's shapes (the apply, every
    re-plan of this session, the refused destroys) is one production's deploy role may do (the
    emulator bootstrap's image-service-deploy-local-production, from the same code)."""
    from tests.deploy.shared import calls_record, deployments_dir
    from tests.policies.recorded import missing_grants

    missing = missing_grants(
        catalogue,
        stacks["image-service-state-local"].json,
        "image-service-deploy-local-production",
        [calls_record(deployments_dir(), "local-production")],
        STACK,
    )
    assert missing == []
