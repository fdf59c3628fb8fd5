"""CiIdentity: each account's bootstrap gives CI GitHub's OIDC provider, a read-only review role,
a deploy role per stage scoped to that stage, and the permissions boundary (issue 26, findings
2, 3 and 5). Asserted on the synthesized JSON of every account's state stack; the emulator's is
applied and read back in tests/deploy/test_bootstrap_deploy.py."""

from __future__ import annotations

import json

import pytest

from constructs_lib.kinds import ACTIONS_ON_EVERY_RESOURCE
from constructs_lib.props.ci_identity import GITHUB_OIDC_HOST
from stacks.settings import ACCOUNTS
from stacks.settings.stages import GITHUB_REPOSITORY

STAGE_OF_ACCOUNT = {a.account_id: stage for stage, a in ACCOUNTS.items()}
STATE = sorted(f"image-service-state-{a}" for a in STAGE_OF_ACCOUNT)
# IAM's limits (whitespace not counted): a role's inline policies together, a managed policy.
INLINE_POLICY_LIMIT = 10_240
MANAGED_POLICY_LIMIT = 6_144


def _account(name: str) -> str:
    return name.rsplit("-", 1)[1]


def _roles(synth) -> dict[str, dict]:
    return {r["name"]: r for r in synth.resources("aws_iam_role").values()}


def _policy(synth, role: str) -> dict[str, dict]:
    """Every statement the role gets: its inline policy's and its managed policies' (what did
    not fit IAM's inline limit)."""
    [policy] = [p for p in synth.resources("aws_iam_role_policy").values() if p["name"] == role]
    documents = [json.loads(policy["policy"])]
    attached = {
        a["policy_arn"].split(".")[1]
        for a in synth.resources("aws_iam_role_policy_attachment").values()
        if a["role"] == f"${{{_role_ref(synth, role)}.name}}"
    }
    documents += [
        json.loads(synth.resources("aws_iam_policy")[name]["policy"]) for name in attached
    ]
    return {s["Sid"]: s for d in documents for s in d["Statement"]}


def _role_ref(synth, name: str) -> str:
    [key] = [k for k, r in synth.resources("aws_iam_role").items() if r["name"] == name]
    return f"aws_iam_role.{key}"


def _trust(synth, role: dict) -> dict:
    name = role["assume_role_policy"].split(".")[2]
    [statement] = synth.data("aws_iam_policy_document")[name]["statement"]
    return statement


@pytest.mark.parametrize("name", STATE)
def test_the_github_oidc_provider_has_the_audience_and_no_thumbprint(stacks, name):
    provider = stacks[name].one("aws_iam_openid_connect_provider")
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["client_id_list"] == ["sts.amazonaws.com"]
    assert "thumbprint_list" not in provider


@pytest.mark.parametrize("name", STATE)
def test_each_role_trusts_exactly_its_github_subjects(stacks, name):
    synth, account = stacks[name], _account(name)
    stage, repository = STAGE_OF_ACCOUNT[account], GITHUB_REPOSITORY.slug
    roles = _roles(synth)
    # dev's account also holds the derived stages (pr-*, dev-*): the preview environment's role.
    preview = ["image-service-deploy-preview"] if stage == "dev" else []
    assert sorted(roles) == sorted(
        ["image-service-review", f"image-service-deploy-{stage}", *preview]
    )
    expected = {
        "image-service-review": [
            f"repo:{repository}:pull_request",
            f"repo:{repository}:ref:refs/heads/main",
        ],
        f"image-service-deploy-{stage}": [f"repo:{repository}:environment:{stage}"],
        **{role: [f"repo:{repository}:environment:preview"] for role in preview},
    }
    for role_name, subjects in expected.items():
        statement = _trust(synth, roles[role_name])
        assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
        # By its ARN, so checkov's CKV_AWS_358 evaluates the GitHub trust (make checkov).
        assert statement["principals"] == [
            {
                "type": "Federated",
                "identifiers": [f"arn:aws:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}"],
            }
        ]
        assert statement["condition"] == [
            {
                "test": "StringEquals",
                "variable": f"{GITHUB_OIDC_HOST}:aud",
                "values": ["sts.amazonaws.com"],
            },
            {"test": "StringEquals", "variable": f"{GITHUB_OIDC_HOST}:sub", "values": subjects},
        ]
    assert roles["image-service-review"]["max_session_duration"] == 3600
    assert roles[f"image-service-deploy-{stage}"]["max_session_duration"] == 5400


@pytest.mark.parametrize("name", STATE)
def test_every_resource_is_granted_only_for_actions_aws_authorizes_on_none(stacks, name):
    synth = stacks[name]
    documents = [json.loads(p["policy"]) for p in synth.resources("aws_iam_role_policy").values()]
    documents += [json.loads(p["policy"]) for p in synth.resources("aws_iam_policy").values()]
    for document in documents:
        for statement in document["Statement"]:
            if statement["Effect"] == "Allow" and "*" in statement["Resource"]:
                assert statement["Resource"] == ["*"]
                unexplained = set(statement["Action"]) - set(ACTIONS_ON_EVERY_RESOURCE)
                assert not unexplained, statement["Sid"]
    for policy in synth.resources("aws_iam_role_policy").values():
        assert len("".join(policy["policy"].split())) < INLINE_POLICY_LIMIT, policy["name"]
    for policy in synth.resources("aws_iam_policy").values():
        assert len("".join(policy["policy"].split())) < MANAGED_POLICY_LIMIT, policy["name"]


@pytest.mark.parametrize("name", STATE)
def test_a_deploy_role_changes_its_own_stage_and_creates_roles_only_with_the_boundary(stacks, name):
    synth, account = stacks[name], _account(name)
    stage = STAGE_OF_ACCOUNT[account]
    statements = _policy(synth, f"image-service-deploy-{stage}")
    assert statements["Table"]["Resource"] == [
        f"arn:aws:dynamodb:us-east-1:{account}:table/ImageMetadata-{stage}",
        f"arn:aws:dynamodb:us-east-1:{account}:table/ImageMetadata-{stage}/*",
    ]
    assert statements["ImageBucket"]["Resource"] == [f"arn:aws:s3:::images-lego-moc-{stage}"]
    assert statements["Handlers"]["Resource"] == [
        f"arn:aws:lambda:us-east-1:{account}:function:image-service-{stage}-*"
    ]
    boundary = f"arn:aws:iam::{account}:policy/image-service-boundary"
    assert statements["BoundedHandlerRoles"]["Condition"] == {
        "StringEquals": {"iam:PermissionsBoundary": boundary}
    }
    assert "iam:CreateRole" in statements["BoundedHandlerRoles"]["Action"]
    assert not [
        a for s in statements.values() if s["Sid"] != "BoundedHandlerRoles" for a in s["Action"]
    ].count("iam:CreateRole")
    assert statements["PassStageRoles"]["Condition"] == {
        "StringEquals": {
            "iam:PassedToService": ["lambda.amazonaws.com", "vpc-flow-logs.amazonaws.com"]
        }
    }
    assert statements["PassStageRoles"]["Resource"] == [
        f"arn:aws:iam::{account}:role/image-service-{stage}-*"
    ]
    assert statements["KeepTheBoundary"] == {
        **statements["KeepTheBoundary"],
        "Effect": "Deny",
        "Action": ["iam:DeleteRolePermissionsBoundary"],
    }
    # Its state and the lock beside it (use_lockfile), nothing else of the bucket's objects.
    bucket = f"arn:aws:s3:::lego-moc-image-service-tfstate-{account}"
    key = f"image-service/{stage}/terraform.tfstate"
    assert statements["State"]["Resource"] == [f"{bucket}/{key}", f"{bucket}/{key}.tflock"]
    # The NS record in the parent zone: through the DNS account's delegation role.
    assert statements["DnsDelegation"]["Action"] == ["sts:AssumeRole"]


@pytest.mark.parametrize("name", STATE)
def test_the_review_role_reads_and_cannot_decrypt_or_lock(stacks, name):
    synth = stacks[name]
    statements = _policy(synth, "image-service-review")
    allowed = [a for s in statements.values() if s["Effect"] == "Allow" for a in s["Action"]]
    verbs = ("Create", "Put", "Delete", "Update", "Change", "Set", "Tag", "Untag", "Add")
    assert not [a for a in allowed if a.split(":")[1].startswith(verbs)]
    assert not [a for a in allowed if a in ("apigateway:POST", "apigateway:PUT")]
    # No data of the service: no item or log read, objects only of the state.
    assert not [
        a
        for a in allowed
        if a.startswith(("dynamodb:Get", "dynamodb:Scan", "logs:Get"))
        and a != "logs:GetLogDelivery"
        and not a.startswith("logs:GetDelivery")
    ]
    assert [s["Sid"] for s in statements.values() if "s3:GetObject" in s["Action"]] == ["State"]
    assert statements["State"]["Action"] == ["s3:GetObject"]  # no lock object: -lock=false
    assert all(not r.endswith(".tflock") for r in statements["State"]["Resource"])
    denied = statements["NoDecryptionNoSecrets"]
    assert denied["Effect"] == "Deny" and "kms:Decrypt" in denied["Action"]
    assert "secretsmanager:GetSecretValue" in denied["Action"]


@pytest.mark.parametrize("name", STATE)
def test_the_boundary_allows_the_service_data_logs_traces_and_network_only(stacks, name):
    synth, account = stacks[name], _account(name)
    stage = STAGE_OF_ACCOUNT[account]
    [boundary] = [
        p
        for p in synth.resources("aws_iam_policy").values()
        if p["name"] == "image-service-boundary"
    ]
    statements = {s["Sid"]: s for s in json.loads(boundary["policy"])["Statement"]}
    assert sorted(statements) == [
        "NetworkFlowLogs",
        "OnEveryResource",
        "OwnLogs",
        "ServiceCache",
        "ServiceImages",
        "ServiceTables",
    ]
    # dev's account also holds the derived stages, by pattern (pr-*, dev-*).
    names = [stage, *(["pr-*", "dev-*"] if stage == "dev" else [])]
    # The cache as its one IAM user, and the flow logs into the network's own group.
    assert statements["ServiceCache"] == {
        "Sid": "ServiceCache",
        "Effect": "Allow",
        "Action": ["elasticache:Connect"],
        "Resource": [
            f"arn:aws:elasticache:us-east-1:{account}:{kind}"
            for name in names
            for kind in (f"replicationgroup:image-service-{name}", f"user:image-service-{name}-app")
        ],
    }
    assert statements["NetworkFlowLogs"]["Resource"] == [
        f"arn:aws:logs:us-east-1:{account}:log-group:/aws/vpc/image-service-{name}:*"
        for name in names
    ]
    assert statements["ServiceImages"]["Resource"] == [
        f"arn:aws:s3:::images-lego-moc-{name}/*" for name in names
    ]
    assert not [a for s in statements.values() for a in s["Action"] if a.startswith("iam:")]
    outputs = synth.json["output"]
    assert sorted(outputs) == sorted(
        [
            "StateBucketName",
            "GitHubOidcProviderArn",
            "ReviewRoleArn",
            "PermissionsBoundaryArn",
            f"DeployRoleArn_{stage}",
            *(["DeployRoleArn_preview"] if stage == "dev" else []),
        ]
    )


def test_every_role_of_a_stage_carries_its_accounts_boundary(handler_stack):
    [role] = handler_stack.resources("aws_iam_role").values()
    assert role["permissions_boundary"] == (
        f"arn:aws:iam::{ACCOUNTS['dev'].account_id}:policy/image-service-boundary"
    )


def test_ci_identity_built_directly_with_a_bad_repository_is_refused(bare_stack):
    from constructs_lib.ci_identity import CiIdentity
    from constructs_lib.props.ci_identity import CiIdentityProps, GitHubRepository
    from tests.constructs import refusal

    props = CiIdentityProps(
        repository=GitHubRepository("https://github.com/lego/image-service"),
        account_id="1234",
        stages=(),
        state_bucket="b",
    )
    assert refusal(bare_stack, lambda: CiIdentity(bare_stack, "Ci", props)) == (
        "CiIdentity: 3 problems:\n"
        "  - `repository.slug`: 'https://github.com/lego/image-service' is not a GitHub "
        "repository as its OIDC token names it. Fix: use 'owner/name' (e.g. "
        "'lego-moc/image-service'), or for a repository created or renamed since June 2026 its "
        "immutable 'owner-<id>/repo-<id>' form (the `sub` claim of a workflow's token shows "
        "which).\n"
        "  - `account_id`: '1234' is not an AWS account id. Fix: use the account's 12 digits.\n"
        "  - `stages`: the account has no stage, so no deploy role would be created. Fix: give "
        "the account at least one stage."
    )


@pytest.mark.parametrize("slug", ["lego-moc/image-service", "owner-123456/repo-987654"])
def test_both_forms_of_a_repository_are_accepted(slug):
    from constructs_lib.props.ci_identity import GitHubRepository

    assert GitHubRepository(slug).problems() == []


@pytest.mark.parametrize("name", STATE)
def test_a_deploy_role_may_create_the_cache_tier_of_its_stage(stacks, name):
    synth, account = stacks[name], _account(name)
    stage = STAGE_OF_ACCOUNT[account]
    statements = _policy(synth, f"image-service-deploy-{stage}")
    prefix = f"arn:aws:elasticache:us-east-1:{account}"
    assert statements["Cache"]["Resource"][:2] == [
        f"{prefix}:replicationgroup:image-service-{stage}",
        f"{prefix}:cluster:image-service-{stage}-*",
    ]
    assert "elasticache:CreateReplicationGroup" in statements["Cache"]["Action"]
    assert "elasticache:CreateUserGroup" in statements["Cache"]["Action"]
    assert "ec2:CreateVpc" in statements["Network"]["Action"]
    assert f"arn:aws:ec2:us-east-1:{account}:vpc/*" in statements["Network"]["Resource"]
    assert statements["CacheServiceLinkedRole"]["Condition"] == {
        "StringEquals": {"iam:AWSServiceName": "elasticache.amazonaws.com"}
    }
    # Lambda checks a function's subnets and groups as the deploy role creates it.
    on_every = statements["OnEveryResource"]["Action"]
    assert {"ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs"} <= set(
        on_every
    )


def test_every_resource_type_a_stage_creates_has_deploy_permissions(stacks, granted_stack_types):
    """A family of the deploy role covers every resource type any stage synthesizes (the README's
    handler, the networked handler and the cache included), so a concern cannot ship without
    the permissions to deploy it."""
    from constructs_lib.ci_identity import FAMILIES, NO_PERMISSIONS_NEEDED

    covered = {t for f in FAMILIES for t in f.types} | set(NO_PERMISSIONS_NEEDED)
    created = set(granted_stack_types)
    for name, synth in stacks.items():
        if not name.startswith("image-service-state"):
            created |= set(synth.json.get("resource", {}))
    assert sorted(created - covered) == []


@pytest.fixture(scope="module")
def granted_stack_types(handler_stack, tmp_path_factory) -> list[str]:
    """The resource types of the README's handler stack and of production with a handler in its
    network, granted its cache, and NAT on."""
    from dataclasses import replace

    from cdktf import App

    from stacks.image_service_stack import ImageServiceStack
    from stacks.settings import stage_settings
    from tests.deploy.shared import attach_networked_handler

    root = tmp_path_factory.mktemp("every-type")
    settings = stage_settings("production")
    app = App(outdir=str(root / "out"))
    stack = ImageServiceStack(
        app, replace(settings, network=replace(settings.network, nat_gateways=True))
    )
    attach_networked_handler(stack, root / "handlers", "image-service-production-every-type")
    app.synth()
    path = root / "out" / "stacks" / "image-service-production" / "cdk.tf.json"
    return [*json.loads(path.read_text())["resource"], *handler_stack.json["resource"]]
