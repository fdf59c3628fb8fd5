"""The organisation's rules (stacks.policies): each fires on a breach and stays quiet on
the real stacks. Breaches are made by editing a real synthesized stack's JSON, as an override
or a careless construct would; one end-to-end case goes through cdktf's Aspects and main.py."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest

from constructs_lib.backups.rules import BACKUP_VAULT_LOCKED
from constructs_lib.cache.rules import CACHE_ENCRYPTED_AND_AUTHENTICATED
from constructs_lib.concern import PREVENT_DESTROY, actions_on_every_resource
from constructs_lib.image_api.rules import API_ROUTE_AUTHORIZER
from constructs_lib.image_bucket.rules import (
    BUCKET_DENY_INSECURE_TRANSPORT,
    BUCKET_ENCRYPTION,
    BUCKET_OWNERSHIP_ENFORCED,
    BUCKET_PUBLIC_ACCESS_BLOCK,
)
from constructs_lib.metadata_table.rules import (
    TABLE_DELETION_PROTECTION,
    TABLE_ENCRYPTION,
    TABLE_POINT_IN_TIME_RECOVERY,
)
from constructs_lib.network.rules import NO_OPEN_INGRESS
from stacks.errors import ImageServiceError
from stacks.policies import (
    ALLOWED_MANAGED_POLICIES,
    DEFAULT_TAGS,
    IAM_NO_WILDCARDS,
    IAM_ROLE_BOUNDARY,
    RULES,
    OrganisationPolicy,
    PolicyProps,
    check_stack,
)
from stacks.settings import ALL_STAGES, stage_settings
from tests.conftest import ALL_STACKS, DNS_STACK, STATE_STACKS


def _only(config: dict, tf_type: str, kind: str = "resource") -> dict:
    items = config[kind][tf_type]
    assert len(items) == 1, sorted(items)
    return next(iter(items.values()))


def _policy_statements(c: dict) -> list:
    """The statements of the image bucket's policy document."""
    documents = c["data"]["aws_iam_policy_document"]
    [name] = [n for n in documents if n.startswith("ImageBucket_PolicyDocument")]
    return documents[name]["statement"]


def _route(c: dict, key: str) -> dict:
    return next(
        r for r in c["resource"]["aws_apigatewayv2_route"].values() if r["route_key"] == key
    )


# (case id, stage, breach applied to the stack JSON, rule expected, construct path expected)
BREACHES: list[tuple[str, str, Callable[[dict], None], str, str]] = [
    (
        "pab-flag-false",
        "dev",
        lambda c: _only(c, "aws_s3_bucket_public_access_block").update(
            restrict_public_buckets=False
        ),
        BUCKET_PUBLIC_ACCESS_BLOCK,
        "image-service-dev/ImageBucket/Bucket",
    ),
    (
        "pab-missing",
        "dev",
        lambda c: c["resource"].pop("aws_s3_bucket_public_access_block"),
        BUCKET_PUBLIC_ACCESS_BLOCK,
        "image-service-dev/ImageBucket/Bucket",
    ),
    (
        "sse-missing",
        "staging",
        lambda c: c["resource"].pop("aws_s3_bucket_server_side_encryption_configuration"),
        BUCKET_ENCRYPTION,
        "image-service-staging/ImageBucket/Bucket",
    ),
    (
        "ownership-object-writer",
        "dev",
        lambda c: _only(c, "aws_s3_bucket_ownership_controls")["rule"].update(
            object_ownership="ObjectWriter"
        ),
        BUCKET_OWNERSHIP_ENFORCED,
        "image-service-dev/ImageBucket/Bucket",
    ),
    (
        "tls-deny-statement-removed",
        "dev",
        lambda c: _policy_statements(c).pop(0),
        BUCKET_DENY_INSECURE_TRANSPORT,
        "image-service-dev/ImageBucket/Bucket",
    ),
    (
        "tls-deny-condition-inverted",
        "production",
        lambda c: _policy_statements(c)[0]["condition"][0].update(values=["true"]),
        BUCKET_DENY_INSECURE_TRANSPORT,
        "image-service-production/ImageBucket/Bucket",
    ),
    (
        "tls-deny-objects-only",
        "dev",
        lambda c: _policy_statements(c)[0].update(
            resources=_policy_statements(c)[0]["resources"][1:]
        ),
        BUCKET_DENY_INSECURE_TRANSPORT,
        "image-service-dev/ImageBucket/Bucket",
    ),
    (
        "table-sse-off",
        "dev",
        lambda c: _only(c, "aws_dynamodb_table")["server_side_encryption"].update(enabled=False),
        TABLE_ENCRYPTION,
        "image-service-dev/MetadataTable/Table",
    ),
    (
        "production-table-pitr-off",
        "production",
        lambda c: _only(c, "aws_dynamodb_table")["point_in_time_recovery"].update(enabled=False),
        TABLE_POINT_IN_TIME_RECOVERY,
        "image-service-production/MetadataTable/Table",
    ),
    (
        "production-table-deletion-protection-off",
        "production",
        lambda c: _only(c, "aws_dynamodb_table").update(deletion_protection_enabled=False),
        TABLE_DELETION_PROTECTION,
        "image-service-production/MetadataTable/Table",
    ),
    (
        "production-bucket-without-prevent-destroy",
        "production",
        lambda c: _only(c, "aws_s3_bucket").pop("lifecycle"),
        PREVENT_DESTROY,
        "image-service-production/ImageBucket/Bucket",
    ),
    (
        "production-bucket-force-destroy",
        "production",
        lambda c: _only(c, "aws_s3_bucket").update(force_destroy=True),
        PREVENT_DESTROY,
        "image-service-production/ImageBucket/Bucket",
    ),
    (
        "production-user-pool-without-prevent-destroy",
        "production",
        lambda c: _only(c, "aws_cognito_user_pool")["lifecycle"].update(prevent_destroy=False),
        PREVENT_DESTROY,
        "image-service-production/UserAuth/UserPool",
    ),
    (
        "provider-missing-a-mandatory-tag",
        "dev",
        lambda c: c["provider"]["aws"][0]["default_tags"][0]["tags"].pop("ManagedBy"),
        DEFAULT_TAGS,
        "image-service-dev",
    ),  # the aspect names the provider construct itself
    (
        "resource-blanks-a-mandatory-tag",
        "dev",
        lambda c: _only(c, "aws_dynamodb_table").update(tags={"Stage": ""}),
        DEFAULT_TAGS,
        "image-service-dev/MetadataTable/Table",
    ),
    (
        "route-without-authorization",
        "dev",
        lambda c: _route(c, "GET /images").update(authorization_type="NONE"),
        API_ROUTE_AUTHORIZER,
        "image-service-dev/ImageApi/RouteGetImages",
    ),
    (
        "iam-statement-with-a-service-wildcard",
        "dev",
        lambda c: _policy_statements(c).append(
            {
                "sid": "TooBroad",
                "effect": "Allow",
                "actions": ["s3:*"],
                "resources": ["${aws_s3_bucket.ImageBucket_EBEB496F.arn}/*"],
                "principals": [{"type": "AWS", "identifiers": ["arn:aws:iam::123456789012:root"]}],
            }
        ),
        IAM_NO_WILDCARDS,
        "image-service-dev/ImageBucket/PolicyDocument",
    ),
    (
        "iam-statement-on-every-resource",
        "production",
        lambda c: _policy_statements(c).append(
            {"sid": "Everywhere", "actions": ["s3:GetObject"], "resources": ["*"]}
        ),
        IAM_NO_WILDCARDS,
        "image-service-production/ImageBucket/PolicyDocument",
    ),
    (
        # Issue 25, bug 3: a managed policy attached to a role passed every check.
        "iam-attachment-of-administrator-access",
        "dev",
        lambda c: _add(
            c,
            "aws_iam_role_policy_attachment",
            "image-service-dev/GetImage/Admin",
            role="image-service-dev-get-image-role",
            policy_arn="arn:aws:iam::aws:policy/AdministratorAccess",
        ),
        IAM_NO_WILDCARDS,
        "image-service-dev/GetImage/Admin",
    ),
    (
        "iam-attachment-of-a-full-access-policy",
        "production",
        lambda c: _add(
            c,
            "aws_iam_role_policy_attachment",
            "image-service-production/GetImage/S3",
            role="image-service-production-get-image-role",
            policy_arn="arn:aws:iam::aws:policy/AmazonS3FullAccess",
        ),
        IAM_NO_WILDCARDS,
        "image-service-production/GetImage/S3",
    ),
    (
        "iam-role-with-a-managed-policy-arn",
        "staging",
        lambda c: _add(
            c,
            "aws_iam_role",
            "image-service-staging/GetImage/Role",
            name="x",
            assume_role_policy="{}",
            permissions_boundary=stage_settings("staging").permissions_boundary_arn,
            managed_policy_arns=["arn:aws:iam::aws:policy/PowerUserAccess"],
        ),
        IAM_NO_WILDCARDS,
        "image-service-staging/GetImage/Role",
    ),
    (
        "iam-role-with-a-broad-inline-policy",
        "dev",
        lambda c: _add(
            c,
            "aws_iam_role",
            "image-service-dev/GetImage/Role",
            name="x",
            assume_role_policy="{}",
            permissions_boundary=stage_settings("dev").permissions_boundary_arn,
            inline_policy=[
                {
                    "name": "all",
                    "policy": json.dumps(
                        {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
                    ),
                }
            ],
        ),
        IAM_NO_WILDCARDS,
        "image-service-dev/GetImage/Role",
    ),
    (
        "iam-customer-managed-policy-attached-to-a-role",
        "dev",
        lambda c: (
            _add(
                c,
                "aws_iam_policy",
                "image-service-dev/GetImage/Everything",
                policy=json.dumps(
                    {"Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "x"}]}
                ),
            ),
            _add(
                c,
                "aws_iam_role_policy_attachment",
                "image-service-dev/GetImage/Attachment",
                role="r",
                policy_arn="${aws_iam_policy.GetImage_Everything.arn}",
            ),
        ),
        IAM_NO_WILDCARDS,
        "image-service-dev/GetImage/Everything",
    ),
    (
        "role-without-the-accounts-boundary",
        "dev",
        lambda c: _add(
            c,
            "aws_iam_role",
            "image-service-dev/GetImage/Role",
            name="image-service-dev-get-image-role",
            assume_role_policy="{}",
        ),
        IAM_ROLE_BOUNDARY,
        "image-service-dev/GetImage/Role",
    ),
    (
        "every-resource-for-an-action-aws-scopes",
        "dev",
        lambda c: _add(
            c,
            "aws_iam_policy",
            "image-service-dev/GetImage/Create",
            policy=json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            # CreateUserPool authorizes on no resource; DeleteUserPool on one.
                            "Action": ["cognito-idp:CreateUserPool", "cognito-idp:DeleteUserPool"],
                            "Resource": "*",
                        }
                    ]
                }
            ),
        ),
        IAM_NO_WILDCARDS,
        "image-service-dev/GetImage/Create",
    ),
    (
        "cache-without-tls",
        "production",
        lambda c: _only(c, "aws_elasticache_replication_group").update(
            transit_encryption_enabled=False
        ),
        CACHE_ENCRYPTED_AND_AUTHENTICATED,
        "image-service-production/Cache/ReplicationGroup",
    ),
    (
        "cache-unencrypted-at-rest",
        "staging",
        lambda c: _only(c, "aws_elasticache_replication_group").pop("at_rest_encryption_enabled"),
        CACHE_ENCRYPTED_AND_AUTHENTICATED,
        "image-service-staging/Cache/ReplicationGroup",
    ),
    (
        "cache-without-authentication",
        "production",
        lambda c: _only(c, "aws_elasticache_replication_group").pop("user_group_ids"),
        CACHE_ENCRYPTED_AND_AUTHENTICATED,
        "image-service-production/Cache/ReplicationGroup",
    ),
    (
        "cache-user-without-a-password",
        "production",
        lambda c: _add(
            c,
            "aws_elasticache_user",
            "image-service-production/Cache/DefaultUser",
            user_id="image-service-production-default",
            user_name="default",
            engine="valkey",
            access_string="off -@all",
            authentication_mode={"type": "no-password-required"},
        ),
        CACHE_ENCRYPTED_AND_AUTHENTICATED,
        "image-service-production/Cache/DefaultUser",
    ),
    (
        "cache-open-to-the-internet",
        "production",
        lambda c: _add(
            c,
            "aws_security_group_rule",
            "image-service-production/Cache/FromAnywhere",
            type="ingress",
            protocol="tcp",
            from_port=6379,
            to_port=6379,
            cidr_blocks=["0.0.0.0/0"],
            security_group_id="${aws_security_group.Cache_SecurityGroup_24A10A71.id}",
        ),
        NO_OPEN_INGRESS,
        "image-service-production/Cache/FromAnywhere",
    ),
    (
        "group-with-inline-ipv6-ingress-from-anywhere",
        "staging",
        lambda c: _only(c, "aws_security_group").update(
            ingress=[
                {"protocol": "tcp", "from_port": 443, "to_port": 443, "ipv6_cidr_blocks": ["::/0"]}
            ]
        ),
        NO_OPEN_INGRESS,
        "image-service-staging/Cache/SecurityGroup",
    ),
    (
        "route-jwt-without-authorizer-id",
        "staging",
        lambda c: _route(c, "DELETE /images/{imageId}").pop("authorizer_id"),
        API_ROUTE_AUTHORIZER,
        "image-service-staging/ImageApi/RouteDeleteImagesImageid",
    ),
    (
        "backup-vault-without-its-lock",
        "production",
        lambda c: c["resource"]["aws_backup_vault_lock_configuration"].pop(
            next(
                k
                for k in c["resource"]["aws_backup_vault_lock_configuration"]
                if "CopyVault" not in k
            )
        ),
        BACKUP_VAULT_LOCKED,
        "image-service-production/Backups/Vault",
    ),
]


def _add(config: dict, tf_type: str, path: str, **body) -> None:
    """A resource of `tf_type` at construct `path`, as cdktf names and annotates it."""
    name = "_".join(path.split("/")[1:])
    config["resource"].setdefault(tf_type, {})[name] = {
        "//": {"metadata": {"path": path}},
        **body,
    }


@pytest.mark.parametrize("policy_arn", sorted(ALLOWED_MANAGED_POLICIES))
def test_the_managed_policies_a_handler_may_need_are_allowed_each_for_a_reason(stage, policy_arn):
    config = copy.deepcopy(stage("dev").json)
    _add(
        config,
        "aws_iam_role_policy_attachment",
        "image-service-dev/GetImage/Managed",
        role="image-service-dev-get-image-role",
        policy_arn=policy_arn,
    )
    assert check_stack(config, _props("dev")) == []
    assert len(ALLOWED_MANAGED_POLICIES[policy_arn]) > 40  # the reason, written out


def _props(stage_name: str) -> PolicyProps:
    settings = stage_settings(stage_name)
    return PolicyProps(
        protect_data=settings.protect_data,
        permissions_boundary_arn=settings.permissions_boundary_arn,
    )


def test_every_resource_is_accepted_only_where_aws_authorizes_on_none(stage):
    """A `*` resource is accepted in an Allow statement whose every action AWS authorizes on no
    resource, each with its reason (each concern's on_every_resource)."""
    config = copy.deepcopy(stage("dev").json)
    _add(
        config,
        "aws_iam_policy",
        "image-service-dev/Deploy/Create",
        policy=json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["cognito-idp:CreateUserPool", "acm:RequestCertificate"],
                        "Resource": "*",
                    }
                ]
            }
        ),
    )
    assert check_stack(config, _props("dev")) == []
    assert all(len(reason) > 30 for reason in actions_on_every_resource().values())


def test_a_role_with_the_accounts_boundary_is_accepted(stage):
    config = copy.deepcopy(stage("dev").json)
    _add(
        config,
        "aws_iam_role",
        "image-service-dev/GetImage/Role",
        name="image-service-dev-get-image-role",
        assume_role_policy="{}",
        permissions_boundary=stage_settings("dev").permissions_boundary_arn,
    )
    assert check_stack(config, _props("dev")) == []


@pytest.mark.parametrize(
    "stage_name,breach,rule,path", [c[1:] for c in BREACHES], ids=[c[0] for c in BREACHES]
)
def test_a_breach_is_reported_with_its_rule_and_construct_path(
    stage, stage_name, breach, rule, path
):
    config = copy.deepcopy(stage(stage_name).json)
    breach(config)
    found = check_stack(config, _props(stage_name))
    assert [(v.rule, v.path) for v in found] == [(rule, path)]
    assert "Fix:" in found[0].message()


def test_every_rule_has_a_breach_case():
    assert {c[3] for c in BREACHES} == set(RULES)


@pytest.mark.parametrize("name", ALL_STACKS)
def test_the_real_stacks_meet_every_rule(stacks, name):
    stage_name = name.removeprefix("image-service-")
    props = PolicyProps(
        protect_data=name in ("image-service-production", DNS_STACK) or name in STATE_STACKS,
        permissions_boundary_arn=stage_settings(stage_name).permissions_boundary_arn
        if stage_name in ALL_STAGES
        else None,
    )
    found = check_stack(stacks[name].json, props)
    if name in (
        "image-service-state-local",
        "image-service-local",
        "image-service-local-production",
    ):
        # The emulator's one waiver (stacks/settings/emulator.py, EMULATOR_BUCKET_POLICY_GAP): moto
        # checks bucket policies without the request's context.
        assert [v.rule for v in found] == [BUCKET_DENY_INSECURE_TRANSPORT]
    else:
        assert found == []


def test_data_protection_rules_apply_only_to_protected_stacks(stage):
    config = copy.deepcopy(stage("dev").json)
    assert _only(config, "aws_dynamodb_table")["point_in_time_recovery"]["enabled"] is False
    assert check_stack(config, PolicyProps(protect_data=False)) == []
    assert {v.rule for v in check_stack(config, PolicyProps(protect_data=True))} == {
        TABLE_POINT_IN_TIME_RECOVERY,
        TABLE_DELETION_PROTECTION,
        PREVENT_DESTROY,
    }


def test_a_literal_json_policy_denying_insecure_transport_is_accepted(stage):
    config = copy.deepcopy(stage("dev").json)
    bucket_name = next(iter(config["resource"]["aws_s3_bucket"]))
    arn = f"${{aws_s3_bucket.{bucket_name}.arn}}"
    _only(config, "aws_s3_bucket_policy")["policy"] = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [arn, arn + "/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ]
        }
    )
    assert check_stack(config, _props("dev")) == []


def test_a_waived_rule_is_not_reported_and_unknown_waivers_are_refused(stage):
    config = copy.deepcopy(stage("dev").json)
    _policy_statements(config).pop(0)
    waived = PolicyProps(protect_data=False, waivers={BUCKET_DENY_INSECURE_TRANSPORT: "test"})
    assert check_stack(config, waived) == []
    with pytest.raises(ImageServiceError, match="unknown policy rule"):
        OrganisationPolicy(PolicyProps(protect_data=False, waivers={"no-such-rule": "x"}))


def test_the_aspect_fails_synthesis_naming_path_and_rule(tmp_path):
    from cdktf import App

    from stacks.image_service_stack import ImageServiceStack

    app = App(outdir=str(tmp_path))
    stack = ImageServiceStack(app, stage_settings("production"))
    # An escape hatch is exactly what the aspect must still catch.
    stack.table.table.add_override("deletion_protection_enabled", False)
    with pytest.raises(RuntimeError) as err:
        app.synth()
    assert "[image-service-production/MetadataTable/Table] policy table-deletion-protection" in str(
        err.value
    )
    assert [v.rule for v in stack.policy.violations] == [TABLE_DELETION_PROTECTION]
    assert not (tmp_path / "stacks" / "image-service-production" / "cdk.tf.json").exists()


def break_the_dev_bucket() -> None:
    """From now on build_app gives dev's bucket a public access block allowing public policies."""
    import stacks.app

    build = stacks.app.build_app

    def breaking(*args, **kwargs):
        app = build(*args, **kwargs)
        app.node.find_child("image-service-dev").bucket.public_access_block.add_override(
            "block_public_policy", False
        )
        return app

    stacks.app.build_app = breaking


def _refused_the_dev_bucket(stderr: str) -> None:
    assert "synthesis refused by policy" in stderr
    assert "[image-service-dev/ImageBucket/Bucket] policy bucket-public-access-block" in stderr
    assert "not true: block_public_policy" in stderr
    assert "CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS" not in stderr


def test_main_refuses_a_violating_app_and_writes_nothing(tmp_path, monkeypatch, capsys):
    # What main.py runs (stacks.cli.run_synth), in this process: cdktf is loaded already.
    import stacks.app
    from stacks.cli import run_synth

    monkeypatch.setattr(stacks.app, "build_app", stacks.app.build_app)  # restored afterwards
    break_the_dev_bucket()
    outdir = tmp_path / "cdktf.out"
    monkeypatch.setenv("CDKTF_OUTDIR", str(outdir))
    monkeypatch.setenv("IMAGE_SERVICE_STAGES", "dev")
    with pytest.raises(SystemExit) as exit_:
        run_synth()
    assert exit_.value.code == 2
    _refused_the_dev_bucket(capsys.readouterr().err)
    assert not outdir.exists()
    assert not list(tmp_path.glob(".synth-*"))


def test_main_ignores_cdktfs_switch_to_write_despite_errors(main_in_a_fresh_process):
    # cdktf's own switch to write despite error annotations is read by its Node process, so
    # main.py's code runs in a process of its own with the switch set (tests/conftest.py).
    proc, outdir = main_in_a_fresh_process
    assert proc.returncode == 2, proc.stderr
    _refused_the_dev_bucket(proc.stderr)
    assert not outdir.exists()
    assert not list(outdir.parent.glob(".synth-*"))
