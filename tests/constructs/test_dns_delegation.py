"""DnsDelegation: the DNS account's roles through which each real stage writes its own zone's
NS record in lego-api.com, and review plans read it (issue 35). Asserted on the DNS account's
synthesized stack (image-service-dns-<account>); what each role may reach is evaluated against
IAM's catalogue in tests/policies/test_isolation.py, and the stack is applied on the emulator and
read back in tests/deploy/test_bootstrap_deploy.py."""

from __future__ import annotations

import json

import pytest

from stacks.settings import ACCOUNTS, stage_settings
from stacks.settings.stages import DNS_ACCOUNT_ID
from tests.conftest import DNS_STACK

REAL = ("dev", "staging", "production")


@pytest.fixture(scope="module")
def dns(stacks):
    return stacks[DNS_STACK]


def _roles(dns) -> dict[str, dict]:
    return {r["name"]: r for r in dns.resources("aws_iam_role").values()}


def _policy(dns, name: str) -> dict[str, dict]:
    [policy] = [p for p in dns.resources("aws_iam_role_policy").values() if p["name"] == name]
    return {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}


def test_one_writer_per_real_stage_and_one_reader(dns):
    assert sorted(_roles(dns)) == sorted(
        ["image-service-dns-read", *(f"image-service-dns-write-{s}" for s in REAL)]
    )
    assert dns.json["terraform"]["backend"]["s3"] == {
        "bucket": f"lego-moc-image-service-tfstate-{DNS_ACCOUNT_ID}",
        "key": "image-service/dns/terraform.tfstate",
        "region": "us-east-1",
        "encrypt": True,
        "use_lockfile": True,
    }
    [provider] = dns.json["provider"]["aws"]
    assert provider["allowed_account_ids"] == [DNS_ACCOUNT_ID]
    # The parent zone is looked up, never created, on AWS.
    [zone] = dns.data("aws_route53_zone").values()
    assert (zone["name"], zone["private_zone"]) == ("lego-api.com", False)
    assert dns.resources("aws_route53_zone") == {}


@pytest.mark.parametrize("stage", REAL)
def test_a_writer_trusts_its_stages_deploy_role_only_and_may_change_its_ns_record_only(dns, stage):
    role = _roles(dns)[f"image-service-dns-write-{stage}"]
    assert json.loads(role["assume_role_policy"])["Statement"] == [
        {
            "Sid": "TrustedRolesOnly",
            "Effect": "Allow",
            "Principal": {
                "AWS": [
                    f"arn:aws:iam::{ACCOUNTS[stage].account_id}:role/image-service-deploy-{stage}"
                ]
            },
            "Action": "sts:AssumeRole",
        }
    ]
    assert role["max_session_duration"] == 3600
    statements = _policy(dns, f"image-service-dns-write-{stage}")
    assert sorted(statements) == [
        "DelegateOwnZoneOnly",
        "FindParentZone",
        "ReadParentZone",
        "WaitForChanges",
    ]
    [zone_ref] = statements["DelegateOwnZoneOnly"]["Resource"]
    assert zone_ref.startswith("${data.aws_route53_zone.") and zone_ref.endswith(".arn}")
    names = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
    types = "route53:ChangeResourceRecordSetsRecordTypes"
    assert statements["DelegateOwnZoneOnly"]["Condition"] == {
        "ForAllValues:StringEquals": {
            names: [stage_settings(stage).domains.zone_name],
            types: ["NS"],
        },
        "Null": {names: "false", types: "false"},
    }
    assert statements["DelegateOwnZoneOnly"]["Action"] == ["route53:ChangeResourceRecordSets"]


def test_the_reader_trusts_the_review_roles_and_changes_nothing(dns):
    role = _roles(dns)["image-service-dns-read"]
    [statement] = json.loads(role["assume_role_policy"])["Statement"]
    assert statement["Principal"] == {
        "AWS": [f"arn:aws:iam::{ACCOUNTS[s].account_id}:role/image-service-review" for s in REAL]
    }
    statements = _policy(dns, "image-service-dns-read")
    actions = sorted(a for s in statements.values() for a in s["Action"])
    assert actions == [
        "route53:GetHostedZone",
        "route53:ListHostedZones",
        "route53:ListHostedZonesByName",
        "route53:ListResourceRecordSets",
        "route53:ListTagsForResource",
    ]


def test_the_stack_outputs_each_roles_arn(dns):
    assert sorted(dns.json["output"]) == sorted(
        ["DnsReaderRoleArn", *(f"DnsWriterRoleArn_{s}" for s in REAL)]
    )


def test_bad_props_are_refused_every_problem_at_once(bare_stack):
    from constructs_lib.dns_delegation.construct import DnsDelegation
    from constructs_lib.dns_delegation.props import DelegatedZone, DnsDelegationProps
    from tests.constructs import refusal

    props = DnsDelegationProps(
        parent_zone_name="lego-api.com",
        account_id="4444",
        zones=(
            DelegatedZone("dev", "images-dev.example.com", "arn:aws:iam::111111111111:role/x"),
            DelegatedZone("dev", "images.lego-api.com", "not-a-role"),
        ),
        readers=("review",),
    )
    assert refusal(bare_stack, lambda: DnsDelegation(bare_stack, "Dns", props)) == (
        "DnsDelegation: 5 problems:\n"
        "  - `account_id`: '4444' is not an AWS account id. Fix: use the 12 digits of the "
        "account that holds the parent zone.\n"
        "  - `zones[0].zone_name`: 'images-dev.example.com' is not inside the parent zone "
        "'lego-api.com'. Fix: delegate only names below the parent zone.\n"
        "  - `zones[1].deploy_role_arn`: 'not-a-role' is not an IAM role ARN. Fix: name the "
        "stage's deploy role: arn:aws:iam::<account>:role/<name>.\n"
        "  - `zones`: a stage is named twice. Fix: give each stage one zone.\n"
        "  - `readers`: 'review' is not an IAM role ARN. Fix: name the stages' review roles: "
        "arn:aws:iam::<account>:role/<name>."
    )
