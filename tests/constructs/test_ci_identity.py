"""CiIdentity: each account's bootstrap gives CI GitHub's OIDC provider, a read-only review role,
a deploy role per stage scoped to that stage, and the permissions boundary (issue 26, findings
2, 3 and 5; issue 35). Asserted on the synthesized JSON of every account's state stack (the
three real stages' and the previews account's) against IAM's own catalogue of actions and
resource types (tests/policies/iam.py); the emulator's is applied and read back in
tests/deploy/test_bootstrap_deploy.py, and what each role may reach is evaluated in
tests/policies/test_isolation.py."""

from __future__ import annotations

import json

import pytest

from constructs_lib.backups.props import BACKUP_ROLE
from constructs_lib.ci_identity.props import GITHUB_OIDC_HOST
from constructs_lib.concern import actions_on_every_resource
from stacks.settings import ACCOUNTS, stage_settings
from stacks.settings.stages import DNS_ACCOUNT_ID, GITHUB_REPOSITORY, PREVIEWS_ACCOUNT
from tests.conftest import DNS_STACK

# The real stages' accounts, and the previews account (its one deploy role: `preview`).
STAGE_OF_ACCOUNT = {a.account_id: stage for stage, a in ACCOUNTS.items()}
STAGE_OF_ACCOUNT[PREVIEWS_ACCOUNT.account_id] = "preview"
STATE = sorted(f"image-service-state-{a}" for a in STAGE_OF_ACCOUNT)
REAL = sorted(f"image-service-state-{a.account_id}" for a in ACCOUNTS.values())
# IAM's limits (whitespace not counted): a role's inline policies together, a managed policy;
# every policy keeps a tenth of its limit free, for the next family.
INLINE_POLICY_LIMIT = 10_240
MANAGED_POLICY_LIMIT = 6_144
FILLED_AT_MOST = 0.9


def _account(name: str) -> str:
    return name.rsplit("-", 1)[1]


def _roles(synth) -> dict[str, dict]:
    """The CI identity's roles (not the account's backup role, which only AWS Backup assumes:
    tests/constructs/test_backups.py)."""
    return {
        r["name"]: r for r in synth.resources("aws_iam_role").values() if r["name"] != BACKUP_ROLE
    }


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
    # One deploy role per account: each real stage's own, and the previews account's `preview`
    # (the GitHub environment that deploys pr-* and dev-*).
    assert sorted(roles) == sorted(["image-service-review", f"image-service-deploy-{stage}"])
    expected = {
        "image-service-review": [
            f"repo:{repository}:pull_request",
            f"repo:{repository}:ref:refs/heads/main",
        ],
        f"image-service-deploy-{stage}": [f"repo:{repository}:environment:{stage}"],
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
                unexplained = set(statement["Action"]) - set(actions_on_every_resource())
                assert not unexplained, statement["Sid"]


@pytest.mark.parametrize("name", [*STATE, "image-service-state-local", DNS_STACK])
def test_every_policy_keeps_a_tenth_of_its_size_limit_free(stacks, name):
    """Issue 35, finding 5: the next family must not overflow a policy at bootstrap."""
    synth = stacks[name]
    inline: dict[str, int] = {}
    for policy in synth.resources("aws_iam_role_policy").values():
        inline[policy["role"]] = inline.get(policy["role"], 0) + len(
            "".join(policy["policy"].split())
        )
    assert inline
    for role, size in inline.items():
        assert size <= FILLED_AT_MOST * INLINE_POLICY_LIMIT, (role, size)
    for policy in synth.resources("aws_iam_policy").values():
        size = len("".join(policy["policy"].split()))
        assert size <= FILLED_AT_MOST * MANAGED_POLICY_LIMIT, (policy["name"], size)


@pytest.mark.parametrize("name", REAL)
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
    # The NS record in the parent zone: through its own stage's writer in the DNS account only.
    assert statements["DnsDelegation"]["Action"] == ["sts:AssumeRole"]
    assert statements["DnsDelegation"]["Resource"] == [
        f"arn:aws:iam::{DNS_ACCOUNT_ID}:role/image-service-dns-write-{stage}"
    ]
    # Records only of its own zone's names (a zone of its account holding another name, the
    # parent's, say, is out of reach).
    zone = stage_settings(stage).domains.zone_name
    assert statements["ZoneRecords"]["Condition"] == {
        "ForAllValues:StringLike": {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": sorted([zone, f"*.{zone}"])
        },
        "Null": {"route53:ChangeResourceRecordSetsNormalizedRecordNames": "false"},
    }


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
    # The parent zone only through the DNS account's reader, which writes nothing; the previews
    # account's stages have no delegation.
    assumed = [
        r for s in statements.values() if "sts:AssumeRole" in s["Action"] for r in s["Resource"]
    ]
    reader = f"arn:aws:iam::{DNS_ACCOUNT_ID}:role/image-service-dns-read"
    assert assumed == ([] if name.endswith(PREVIEWS_ACCOUNT.account_id) else [reader])


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
    # The previews account holds the derived stages, by pattern (pr-*, dev-*).
    names = ["pr-*", "dev-*"] if stage == "preview" else [stage]
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
            # A real stage's account may back up (the previews account's stages never do).
            *(["BackupRoleArn"] if stage != "preview" else []),
        ]
    )


def test_every_role_of_a_stage_carries_its_accounts_boundary(handler_stack):
    [role] = handler_stack.resources("aws_iam_role").values()
    assert role["permissions_boundary"] == (
        f"arn:aws:iam::{ACCOUNTS['dev'].account_id}:policy/image-service-boundary"
    )


def test_ci_identity_built_directly_with_a_bad_repository_is_refused(bare_stack):
    from constructs_lib.ci_identity.construct import CiIdentity
    from constructs_lib.ci_identity.props import CiIdentityProps, GitHubRepository
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
    from constructs_lib.ci_identity.props import GitHubRepository

    assert GitHubRepository(slug).problems() == []


@pytest.mark.parametrize("name", REAL)
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


@pytest.mark.parametrize("name", REAL)
def test_a_deploy_role_removes_the_interfaces_lambda_leaves_in_its_network(stacks, catalogue, name):
    """Issue 35, finding 4: before a security group or subnet goes, the provider detaches and
    deletes the network interfaces Lambda left in it (its ec2 service, deleteLingeringENIs);
    without these, destroying or replacing the network fails once handlers joined it. IAM
    authorizes the detach on the interface and the instance it is attached to."""
    from tests.policies.iam import Principal, Resource, decide

    account = _account(name)
    statements = _policy(stacks[name], f"image-service-deploy-{STAGE_OF_ACCOUNT[account]}")
    lingering = statements["LingeringInterfaces"]
    assert lingering["Action"] == ["ec2:DetachNetworkInterface", "ec2:DeleteNetworkInterface"]
    role = Principal(f"arn:aws:iam::{account}:role/deploy", (dict(Statement=[lingering]),))
    interface = Resource(
        f"arn:aws:ec2:us-east-1:{account}:network-interface/eni-0123",
        account,
        {},
        "ec2",
        "network-interface",
    )
    assert decide(catalogue, role, "ec2:DeleteNetworkInterface", interface)
    assert decide(catalogue, role, "ec2:DetachNetworkInterface", interface)


def test_every_resource_type_a_stage_creates_has_deploy_permissions(stacks, granted_stack_types):
    """A family of the deploy role covers every resource type any stage synthesizes
    (CONTRIBUTING.md's handler, the networked handler and the cache included), so a concern
    cannot ship without the permissions to deploy it."""
    from constructs_lib.ci_identity.construct import NO_PERMISSIONS_NEEDED
    from constructs_lib.concern import families

    covered = {t for f in families() for t in f.types} | set(NO_PERMISSIONS_NEEDED)
    created = set(granted_stack_types)
    for name, synth in stacks.items():
        if not name.startswith("image-service-state"):
            created |= set(synth.json.get("resource", {}))
    assert sorted(created - covered) == []


@pytest.fixture(scope="module")
def granted_stack_types(handler_stack, tmp_path_factory) -> list[str]:
    """The resource types of CONTRIBUTING.md's handler stack and of production with a handler in
    its network, granted its cache, and NAT on."""
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


# What the DNS stack's policies refer to, as IAM would see it: the parent zone's ARN.
PARENT_ZONE = {"data.aws_route53_zone.": "arn:aws:route53:::hostedzone/ZPARENTZONE"}
CI_STACKS = [*STATE, "image-service-state-local", DNS_STACK]


def _ci_roles(stacks, name):
    from tests.policies.roles import role, role_names

    account = name.rsplit("-", 1)[1] if name != "image-service-state-local" else "123456789012"
    config = stacks[name].json
    return [role(config, r, account, PARENT_ZONE) for r in role_names(config) if r != BACKUP_ROLE]


def _boundary(stacks, name):
    from tests.policies.iam import Principal

    policies = [
        json.loads(p["policy"])
        for p in stacks[name].resources("aws_iam_policy").values()
        if p["name"] == "image-service-boundary"
    ]
    return (
        [Principal("arn:aws:iam::123456789012:role/a-handler", tuple(policies))] if policies else []
    )


@pytest.mark.parametrize("name", CI_STACKS)
def test_every_action_granted_is_in_iams_catalogue_where_iam_authorizes_it(stacks, catalogue, name):
    """Each action an Allow names is one IAM's catalogue has, granted on the resources IAM
    authorizes it on: "*" for an action of no resource type (a statement naming ARNs never
    matches it: issue 35, finding 6, and CloudFront's creates), else ARNs of one of its types
    (a statement naming only another type's ARNs is a grant that never applies)."""
    from tests.policies.iam import _as_list, _could_be_of_type

    dead = []
    for principal in _ci_roles(stacks, name) + _boundary(stacks, name):
        for statement in principal.statements():
            if statement["Effect"] != "Allow":
                continue
            for action in _as_list(statement["Action"]):
                if "*" in action:
                    continue  # a pattern (s3:GetBucket*): tested by what it grants, below
                found = catalogue.action(action)  # UnknownAction: not in IAM's catalogue
                types = [rt for rt in found.resource_types if rt]
                resources = _as_list(statement["Resource"])
                if not types and "*" not in resources:
                    dead.append((principal.arn, statement["Sid"], action, "authorizes only on *"))
                elif types and not any(
                    _could_be_of_type(catalogue, r, found.service, types) for r in resources
                ):
                    dead.append((principal.arn, statement["Sid"], action, f"needs a {types}"))
    assert dead == []


@pytest.mark.parametrize("name", CI_STACKS)
def test_every_action_pattern_matches_actions_in_iams_catalogue(stacks, catalogue, name):
    """A pattern such as s3:GetBucket* names actions IAM has (a misspelt one grants nothing)."""
    import fnmatch

    from tests.policies.iam import _as_list

    empty = []
    for principal in _ci_roles(stacks, name):
        for statement in principal.statements():
            for action in _as_list(statement["Action"]):
                service, _, verb = action.partition(":")
                if "*" in verb and verb != "*":
                    names = catalogue.data[service]["privileges"]
                    if not [n for n in names if fnmatch.fnmatchcase(n.lower(), verb.lower())]:
                        empty.append(action)
    assert empty == []


def test_the_preview_role_has_only_what_a_derived_stage_can_have(stacks):
    """The previews account's deploy role: no network, cache, web ACL, budget, custom domains,
    CDN log deliveries or DNS delegation (stacks/settings/derived.py turns them off), so a pull
    request's code gets none of their permissions."""
    statements = _policy(
        stacks[f"image-service-state-{PREVIEWS_ACCOUNT.account_id}"], "image-service-deploy-preview"
    )
    for absent in (
        "Network",
        "LingeringInterfaces",
        "Cache",
        "WebAcl",
        "Budget",
        "Certificates",
        "Zones",
        "ZoneRecords",
        "ZoneChanges",
        "LogDeliveries",
        "DnsDelegation",
        "CacheServiceLinkedRole",
    ):
        assert absent not in statements, absent
    actions = {a for s in statements.values() if s["Effect"] == "Allow" for a in s["Action"]}
    assert not {
        a
        for a in actions
        if a.startswith(("ec2:", "elasticache:", "route53:", "acm:", "wafv2:", "budgets:", "sts:"))
    }
    assert statements["Table"]["Resource"] == [
        f"arn:aws:dynamodb:us-east-1:{PREVIEWS_ACCOUNT.account_id}:table/ImageMetadata-{p}-*{suffix}"
        for p in ("pr", "dev")
        for suffix in ("", "/*")
    ]
