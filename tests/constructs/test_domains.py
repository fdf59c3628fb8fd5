"""CustomDomains, HostedZone and DnsValidatedCertificate: each stage's own zone, delegated from the
parent zone in the account that holds it, its CAA record, and certificates validated in it
within a bounded wait (issue 26, findings 1, 2 and 10)."""

from dataclasses import replace

import pytest

from stacks.settings import stage_settings
from stacks.settings.stages import DNS_PARENT

REAL = ("dev", "staging", "production")
ZONES = {
    "dev": "images-dev.lego-api.com",
    "staging": "images-staging.lego-api.com",
    "production": "images.lego-api.com",
}


@pytest.mark.parametrize("name", REAL)
def test_each_stage_owns_its_zone_delegated_from_the_parent(stage, name):
    synth = stage(name)
    [(zone_id, zone)] = synth.resources("aws_route53_zone").items()
    assert zone["name"] == ZONES[name]
    assert "provider" not in zone  # the stage's own account
    # The parent is looked up in the DNS account, through the delegation role.
    [(parent_id, parent)] = synth.data("aws_route53_zone").items()
    assert parent == {**parent, "name": "lego-api.com", "provider": "aws.dns_parent"}
    records = synth.resources("aws_route53_record")
    assert records["Delegation"] == {
        **records["Delegation"],
        "zone_id": f"${{data.aws_route53_zone.{parent_id}.zone_id}}",
        "name": ZONES[name],
        "type": "NS",
        "ttl": 172800,
        "records": f"${{aws_route53_zone.{zone_id}.name_servers}}",
        "provider": "aws.dns_parent",
    }
    # Only Amazon may issue certificates for the zone.
    caa = records["HostedZone_Caa_D92491AE"]
    assert caa == {
        **caa,
        "zone_id": f"${{aws_route53_zone.{zone_id}.zone_id}}",
        "name": ZONES[name],
        "type": "CAA",
        "records": ['0 issue "amazon.com"', '0 issuewild "amazon.com"'],
    }


def test_production_zone_is_protected_like_its_data_and_the_others_are_not(stage):
    for name in REAL:
        zone = stage(name).one("aws_route53_zone")
        assert ("lifecycle" in zone) is (name == "production"), name
    assert stage("production").one("aws_route53_zone")["lifecycle"] == {"prevent_destroy": True}


def test_a_stage_may_look_up_a_zone_its_account_holds_instead(variant):
    dev = stage_settings("dev")
    looked_up = variant(
        "dev", domains=replace(dev.domains, create_hosted_zone=False, delegation=None)
    )
    assert looked_up.resources("aws_route53_zone") == {}
    assert [z["name"] for z in looked_up.data("aws_route53_zone").values()] == [ZONES["dev"]]
    assert "Delegation" not in looked_up.resources("aws_route53_record")
    assert [p.get("alias", "") for p in looked_up.json["provider"]["aws"]] == ["", "us_east_1"]


@pytest.mark.parametrize("name", REAL)
def test_validation_records_are_keyed_by_domain_name_and_the_wait_is_bounded(stage, name):
    synth = stage(name)
    for cert_id in synth.resources("aws_acm_certificate"):
        [record] = [
            r
            for r in synth.resources("aws_route53_record").values()
            if cert_id in r.get("for_each", "")
        ]
        # As the provider's docs write it: no tolist() of the set (finding 10).
        assert record["for_each"] == (
            f"${{{{ for option in aws_acm_certificate.{cert_id}.domain_validation_options : "
            "option.domain_name => option }}"
        )
        assert record["name"] == "${each.value.resource_record_name}"
    for validation in synth.resources("aws_acm_certificate_validation").values():
        # The provider waits 75 minutes by default (acm/certificate_validation.go).
        assert validation["timeouts"] == {"create": "20m"}
    assert synth.one("aws_apigatewayv2_domain_name")["timeouts"] == {
        "create": "20m",
        "update": "20m",
    }
    assert synth.one("aws_dynamodb_table")["timeouts"] == {
        "create": "20m",
        "update": "20m",
        "delete": "20m",
    }


def test_a_certificate_with_a_second_name_asks_for_it(bare_stack):
    from cdktf import Testing

    from constructs_lib.domains.construct import DnsValidatedCertificate
    from constructs_lib.domains.props import DnsValidatedCertificateProps

    DnsValidatedCertificate(
        bare_stack,
        "Cert",
        DnsValidatedCertificateProps(
            domain_name="images.example.com",
            zone_id="Z123",
            alternative_names=("www.images.example.com",),
        ),
    )
    import json

    config = json.loads(Testing.synth(bare_stack))
    [cert] = config["resource"]["aws_acm_certificate"].values()
    assert cert["subject_alternative_names"] == ["www.images.example.com"]


def test_the_zone_name_is_checked_and_the_delegation_refused_where_it_cannot_work(bare_stack):
    from constructs_lib.domains.construct import CustomDomains
    from constructs_lib.domains.props import CustomDomainsProps, ZoneDelegation
    from tests.constructs import refusal

    props = CustomDomainsProps(
        api_hostname="images.example.com",
        cdn_hostname="cdn..lego-api.com",
        hosted_zone_name="lego-api.com",
        delegation=ZoneDelegation(
            parent_zone_name="example.org",
            parent_account_id="4444",
            role_arn="arn:aws:iam::555555555555:role/dns",
        ),
    )
    message = refusal(
        bare_stack,
        lambda: CustomDomains(bare_stack, props, cdn_certificate_provider=None),
    )
    assert message == (
        "CustomDomains: 5 problems:\n"
        "  - `delegation.parent_account_id`: '4444' is not an AWS account id. Fix: use the 12 "
        "digits of the account that holds the parent zone.\n"
        "  - `delegation.role_arn`: the role is in account 555555555555, not in the parent "
        "zone's account 4444. Fix: name the delegation role of the account that holds the "
        "parent zone.\n"
        "  - `delegation.parent_zone_name`: 'lego-api.com' is not below the parent zone "
        "'example.org', so the parent cannot delegate it. Fix: name the zone the stage's zone is "
        "a subdomain of, e.g. 'lego-api.com'.\n"
        "  - `api_hostname`: 'images.example.com' is not inside the zone 'lego-api.com'. Fix: "
        "use a hostname under hosted_zone_name, or change the zone.\n"
        "  - `cdn_hostname`: 'cdn..lego-api.com' is not a valid DNS hostname. Fix: use a "
        "lowercase DNS name such as 'images-dev.lego-api.com' (labels of a-z, 0-9, '-')."
    )


def test_a_created_zone_without_a_delegation_is_refused(bare_stack):
    from constructs_lib.domains.construct import CustomDomains
    from constructs_lib.domains.props import CustomDomainsProps
    from tests.constructs import refusal

    props = CustomDomainsProps(
        api_hostname="images-dev.lego-api.com", cdn_hostname="cdn.images-dev.lego-api.com"
    )
    message = refusal(bare_stack, lambda: CustomDomains(bare_stack, props))
    assert message == (
        "CustomDomains: `delegation`: the stage creates the zone 'images-dev.lego-api.com' but "
        "nothing delegates it, so no resolver would find its records (and certificate "
        "validation would wait for records nobody can see). Fix: set "
        "delegation=ZoneDelegation(parent_zone_name=..., parent_account_id=..., role_arn=...), "
        "or create_hosted_zone=False to look up a zone the account holds already"
    )


@pytest.mark.parametrize("name", ("dev", "staging", "production"))
def test_each_stage_is_delegated_through_its_own_writer_and_reviewed_through_the_reader(name):
    """Issue 35: one writer per stage in the DNS account (constructs_lib/dns_delegation/),
    which only that stage's deploy role assumes; review plans use the reader."""
    assert DNS_PARENT.parent_zone_name == "lego-api.com"
    delegation = stage_settings(name).domains.delegation
    account = DNS_PARENT.parent_account_id
    assert delegation.role_arn == f"arn:aws:iam::{account}:role/image-service-dns-write-{name}"
    assert delegation.read_role_arn == f"arn:aws:iam::{account}:role/image-service-dns-read"
