"""A concern is one folder (issue 36): each package of constructs_lib declares, beside its
construct, the permissions its resources need, what the plan guard makes of its resource types
and its organisation-policy rules (constructs_lib/concern.py); the cross-cutting pieces collect
them and name no concern's resource type themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from constructs_lib.concern import Concern, concerns, data_types, identity_types, outage_types
from stacks.policies import RULES

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "constructs_lib"
# What a Terraform resource type looks like in source: a quoted name of the AWS provider's.
TYPE = re.compile(r"[\"'](aws_[a-z0-9_]+)[\"']")
# The pieces that work across concerns, which collect what the concerns declare: the library's
# shared modules, the stacks (composition, policy, settings), the plan guard and the review.
CENTRAL = [
    *sorted(LIBRARY.glob("*.py")),
    *sorted((ROOT / "stacks").rglob("*.py")),
    ROOT / "ops" / "plan_guard.py",
    ROOT / "ops" / "review.py",
]
# The concerns that collect from the others (the CI identity's permissions; monitoring's
# alarms), each allowed its own types only.
COLLECTORS = ("ci_identity", "monitoring")


def _owner_of_each_type() -> dict[str, str]:
    owners: dict[str, str] = {}
    for concern in concerns():
        for tf_type in concern.types:
            assert tf_type not in owners, f"{tf_type}: {owners[tf_type]} and {concern.name}"
            owners[tf_type] = concern.name
    return owners


def test_every_concern_folder_declares_its_concern_under_its_own_name():
    folders = sorted(
        p.name
        for p in LIBRARY.iterdir()
        if (p / "__init__.py").is_file() and p.name != "__pycache__"
    )
    declared = [c.name for c in concerns()]
    assert declared == [f for f in folders if f != "dns_delegation"]
    assert all(isinstance(c, Concern) for c in concerns())
    # The DNS account's roles are not a stage's: no stage deploys them.
    assert not hasattr(__import__("constructs_lib.dns_delegation").dns_delegation, "CONCERN")


def test_each_resource_type_belongs_to_exactly_one_concern():
    owners = _owner_of_each_type()
    assert owners["aws_dynamodb_table"] == "metadata_table"
    assert owners["aws_elasticache_replication_group"] == "cache"
    # The types several concerns create (log groups, roles) are the CI identity's to grant.
    assert owners["aws_cloudwatch_log_group"] == "ci_identity"
    assert owners["aws_iam_role"] == "ci_identity"


def test_what_the_plan_guard_protects_is_declared_by_the_concern_that_creates_it():
    owners = _owner_of_each_type()
    for concern in concerns():
        for tf_type in (*concern.data, *concern.identity, *concern.outage):
            assert owners.get(tf_type) == concern.name, (concern.name, tf_type)
    assert set(data_types()) == {
        "aws_dynamodb_table",
        "aws_s3_bucket",
        "aws_cognito_user_pool",
        "aws_backup_vault",
        "aws_backup_vault_lock_configuration",
    }
    assert "aws_cloudfront_distribution" in identity_types()
    assert set(outage_types()) == {
        "aws_elasticache_replication_group",
        "aws_elasticache_subnet_group",
        "aws_vpc",
    }


def test_every_concerns_rules_are_the_organisation_policys():
    names = [n for c in concerns() if c.rules for n in c.rules.names]
    assert len(names) == len(set(names))
    assert set(names) <= set(RULES)
    assert {"bucket-encryption", "table-encryption", "api-route-authorizer"} <= set(names)


@pytest.mark.parametrize("path", CENTRAL, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_central_module_names_a_concerns_resource_type(path):
    """The cross-cutting IAM types (roles and their policies, the CI identity's) are the
    organisation policy's to read; every other type is named only in its concern's folder."""
    owners = _owner_of_each_type()
    named = {t for t in TYPE.findall(path.read_text()) if t in owners}
    assert {t for t in named if owners[t] != "ci_identity" or not t.startswith("aws_iam_")} == set()


@pytest.mark.parametrize("collector", COLLECTORS)
def test_a_collecting_concern_names_only_its_own_types(collector):
    owners = _owner_of_each_type()
    for path in sorted((LIBRARY / collector).glob("*.py")):
        named = {t for t in TYPE.findall(path.read_text()) if t in owners}
        assert {t for t in named if owners[t] != collector} == set(), path.name
