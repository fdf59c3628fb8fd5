"""The state bootstrap's two steps, for real on an empty emulator (ops/bootstrap.py): the
account's state bucket is created with local state, then the bootstrap's own state moves into
that bucket and the local file is removed; run again, it finds everything in place."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from constructs_lib.ci_identity.props import (
    DEPLOY_ROLE_PREFIX,
    DEPLOY_SESSION_SECONDS,
    GITHUB_OIDC_HOST,
    REVIEW_ROLE,
)
from ops import local_aws
from ops.toolchain import ROOT, project_env
from ops.workdir import stack_outputs
from stacks.settings import (
    BOOTSTRAP_STATE_KEY,
    EMULATOR_ACCOUNT_ID,
    LOCAL_ENDPOINT_ENV,
    LOCAL_STATE,
    LOCAL_STATE_FILE,
)
from stacks.settings.stages import GITHUB_REPOSITORY
from stacks.state_bootstrap_stack import deploy_role_output

pytestmark = pytest.mark.emulator
STACK = "image-service-state-local"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("local-aws")
    yield local_aws.up(run_dir, port=local_aws.free_port())
    local_aws.down(run_dir)


@pytest.fixture(scope="module")
def outdir(tmp_path_factory):
    return tmp_path_factory.mktemp("bootstrap") / "cdktf.out"


def _credentials(emulator) -> dict[str, str]:
    return {
        k: v for k, v in local_aws.client_env(emulator.endpoint).items() if k != "AWS_ENDPOINT_URL"
    }


def bootstrap(emulator, outdir, account: str = "local") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ops.bootstrap", account, "--outdir", str(outdir)],
        cwd=ROOT,
        env=project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint, **_credentials(emulator)}),
        text=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def first_run(emulator, outdir):
    s3 = local_aws.client("s3", emulator.endpoint)
    assert LOCAL_STATE.bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    return bootstrap(emulator, outdir)


def test_the_first_run_creates_the_bucket_then_moves_its_state_into_it(first_run):
    assert first_run.returncode == 0, first_run.stderr
    lines = [line for line in first_run.stdout.splitlines() if line.startswith(STACK)]
    where = f"s3://{LOCAL_STATE.bucket}/{BOOTSTRAP_STATE_KEY}"
    assert lines == [
        f"{STACK}: creating the state bucket {LOCAL_STATE.bucket} (state kept locally for now)",
        f"{STACK}: moving its own state into {where}",
        f"{STACK}: created the state bucket {LOCAL_STATE.bucket}; its own state is now in {where}",
    ]


def test_the_bucket_holds_the_bootstraps_own_state(first_run, emulator):
    s3 = local_aws.client("s3", emulator.endpoint)
    state = json.loads(
        s3.get_object(Bucket=LOCAL_STATE.bucket, Key=BOOTSTRAP_STATE_KEY)["Body"].read()
    )
    resources = {(r["type"], r["name"]) for r in state["resources"]}
    assert ("aws_s3_bucket", "StateBucket") in resources
    assert ("aws_s3_bucket_versioning", "Versioning") in resources


def test_no_state_is_left_only_on_this_machine(first_run, outdir):
    stack_dir = outdir / "stacks" / STACK
    assert not (stack_dir / LOCAL_STATE_FILE).exists()
    assert not (stack_dir / f"{LOCAL_STATE_FILE}.backup").exists()
    backend = json.loads((stack_dir / "cdk.tf.json").read_text())["terraform"]["backend"]
    assert backend["s3"]["key"] == BOOTSTRAP_STATE_KEY


def test_a_second_run_finds_the_bucket_and_its_state_and_changes_nothing(
    first_run, emulator, outdir
):
    again = bootstrap(emulator, outdir)
    assert again.returncode == 0, again.stderr
    assert "No changes: the deployment already matches the configuration." in again.stdout
    assert again.stdout.rstrip().endswith(
        f"{STACK}: the state bucket {LOCAL_STATE.bucket} exists and holds its own state "
        f"(s3://{LOCAL_STATE.bucket}/{BOOTSTRAP_STATE_KEY})"
    )


def test_a_run_stopped_between_the_steps_is_resumed_with_step_two(first_run, emulator, outdir):
    """The state is still only local (as after step 1, or after `make up`, whose emulator
    bootstrap keeps local state) while the bucket exists: the next run moves it."""
    s3 = local_aws.client("s3", emulator.endpoint)
    stack_dir = outdir / "stacks" / STACK
    state = s3.get_object(Bucket=LOCAL_STATE.bucket, Key=BOOTSTRAP_STATE_KEY)["Body"].read()
    (stack_dir / LOCAL_STATE_FILE).write_bytes(state)
    s3.delete_object(Bucket=LOCAL_STATE.bucket, Key=BOOTSTRAP_STATE_KEY)

    resumed = bootstrap(emulator, outdir)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    where = f"s3://{LOCAL_STATE.bucket}/{BOOTSTRAP_STATE_KEY}"
    assert [line for line in resumed.stdout.splitlines() if line.startswith(STACK)] == [
        f"{STACK}: moving its own state into {where}",
        f"{STACK}: the state bucket {LOCAL_STATE.bucket} existed; its own state is now in {where}",
    ]
    moved = json.loads(
        s3.get_object(Bucket=LOCAL_STATE.bucket, Key=BOOTSTRAP_STATE_KEY)["Body"].read()
    )
    assert ("aws_s3_bucket", "StateBucket") in {(r["type"], r["name"]) for r in moved["resources"]}
    assert not (stack_dir / LOCAL_STATE_FILE).exists()


def test_bin_cdktf_diffs_the_state_stack_and_refuses_to_deploy_it(first_run, emulator, outdir):
    """The state stack through bin/cdktf: found in the app's table of stacks (issue 25, bug 1),
    diffed by the cdktf CLI like any stack, deployed only by ops.bootstrap."""
    env = project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint, **_credentials(emulator)})
    wrapper = [str(ROOT / "bin" / "cdktf")]
    diff = subprocess.run(
        [*wrapper, "diff", STACK, "--skip-synth", "--no-color", "--output", str(outdir)],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
    )
    assert diff.returncode == 0, diff.stdout + diff.stderr
    assert "No changes. Your infrastructure matches the configuration." in diff.stdout
    deploy = subprocess.run(
        [*wrapper, "deploy", STACK, "--skip-synth", "--output", str(outdir)],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
    )
    assert deploy.returncode == 2, deploy.stdout + deploy.stderr
    assert "run `.venv/bin/python -m ops.bootstrap local`" in deploy.stderr
    assert "Traceback" not in deploy.stderr


# ---- the account's CI identity (issue 26), read back from the emulator ----------------------
@pytest.fixture(scope="module")
def iam(first_run, emulator):
    assert first_run.returncode == 0, first_run.stderr
    return local_aws.client("iam", emulator.endpoint)


def _trust_condition(iam, role: str) -> dict:
    [statement] = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    [provider] = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert statement["Principal"] == {"Federated": provider["Arn"]}
    return statement["Condition"]


def test_the_github_oidc_provider_needs_no_thumbprint(iam):
    [provider] = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    described = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider["Arn"])
    assert described["Url"] == GITHUB_OIDC_HOST  # IAM reads the URL back without https://
    assert described["ClientIDList"] == ["sts.amazonaws.com"]
    assert described.get("ThumbprintList", []) == []


def test_the_review_role_trusts_pull_requests_and_the_default_branch_only(iam):
    repository = GITHUB_REPOSITORY.slug
    assert _trust_condition(iam, REVIEW_ROLE) == {
        "StringEquals": {
            f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com",
            f"{GITHUB_OIDC_HOST}:sub": [
                f"repo:{repository}:pull_request",
                f"repo:{repository}:ref:refs/heads/main",
            ],
        }
    }
    assert iam.get_role(RoleName=REVIEW_ROLE)["Role"]["MaxSessionDuration"] == 3600
    statements = _deploy_statements(iam, REVIEW_ROLE)
    assert statements["NoDecryptionNoSecrets"]["Effect"] == "Deny"
    assert "kms:Decrypt" in statements["NoDecryptionNoSecrets"]["Action"]
    # Reads only: no action of the review role changes anything.
    allowed = [a for s in statements.values() if s["Effect"] == "Allow" for a in s["Action"]]
    assert not [a for a in allowed if a.split(":")[1].startswith(("Create", "Put", "Delete"))]


@pytest.mark.parametrize("stage", ["local", "local-production"])
def test_each_deploy_role_trusts_its_own_github_environment_only(iam, stage):
    role = f"{DEPLOY_ROLE_PREFIX}{stage}"
    assert _trust_condition(iam, role) == {
        "StringEquals": {
            f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com",
            # One value: IAM's JSON (and the provider's policy document) gives it as a string.
            f"{GITHUB_OIDC_HOST}:sub": f"repo:{GITHUB_REPOSITORY.slug}:environment:{stage}",
        }
    }
    assert iam.get_role(RoleName=role)["Role"]["MaxSessionDuration"] == DEPLOY_SESSION_SECONDS


def test_a_deploy_role_creates_roles_only_with_the_boundary(iam):
    [boundary] = [
        p
        for p in iam.list_policies(Scope="Local")["Policies"]
        if p["PolicyName"] == "image-service-boundary"
    ]
    statements = _deploy_statements(iam, f"{DEPLOY_ROLE_PREFIX}local")
    bounded = statements["BoundedHandlerRoles"]
    assert "iam:CreateRole" in bounded["Action"]
    assert bounded["Resource"] == [f"arn:aws:iam::{EMULATOR_ACCOUNT_ID}:role/image-service-local-*"]
    assert bounded["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": boundary["Arn"]}}
    assert statements["KeepTheBoundary"]["Effect"] == "Deny"
    # The boundary: the most a handler may ever do, on the service's data only.
    version = iam.get_policy_version(
        PolicyArn=boundary["Arn"], VersionId=boundary["DefaultVersionId"]
    )["PolicyVersion"]["Document"]
    document = json.loads(version) if isinstance(version, str) else version
    tables = {s["Sid"]: s for s in document["Statement"]}["ServiceTables"]["Resource"]
    assert f"arn:aws:dynamodb:us-east-1:{EMULATOR_ACCOUNT_ID}:table/ImageMetadata-local" in tables


def _managed_document(iam, arn: str) -> dict:
    version_id = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version_id)["PolicyVersion"]
    found = document["Document"]
    return json.loads(found) if isinstance(found, str) else found


def _deploy_statements(iam, role: str) -> dict[str, dict]:
    """Every statement of the role: its inline policy's and its attached policies'."""
    [inline] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    documents = [iam.get_role_policy(RoleName=role, PolicyName=inline)["PolicyDocument"]]
    documents += [
        _managed_document(iam, p["PolicyArn"])
        for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    ]
    return {s["Sid"]: s for d in documents for s in d["Statement"]}


def test_what_does_not_fit_a_deploy_roles_inline_policy_is_attached_as_its_own_policy(iam):
    """IAM caps a role's inline policies at 10,240 characters: the rest of the deploy role's
    statements (the cache tier's among them) are in a managed policy attached to it."""
    role = f"{DEPLOY_ROLE_PREFIX}local"
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert sorted(a["PolicyName"] for a in attached) == [
        f"{role}-{n}" for n in range(2, 2 + len(attached))
    ]
    sids = [s["Sid"] for a in attached for s in _managed_document(iam, a["PolicyArn"])["Statement"]]
    [inline] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=inline)["PolicyDocument"]
    inline_sids = [s["Sid"] for s in document["Statement"]]
    assert {"Cache", "Network"} <= set(sids + inline_sids)
    assert not set(sids) & set(inline_sids)


def test_the_state_bucket_expires_old_state_versions(first_run, emulator):
    rules = local_aws.client("s3", emulator.endpoint).get_bucket_lifecycle_configuration(
        Bucket=LOCAL_STATE.bucket
    )["Rules"]
    assert [
        (r["ID"], r["Status"], r["NoncurrentVersionExpiration"]["NoncurrentDays"]) for r in rules
    ] == [("expire-noncurrent-state", "Enabled", 90)]


def test_the_bootstrap_outputs_the_arns_the_workflows_need(iam, emulator, outdir):
    outputs = stack_outputs(
        outdir / "stacks" / STACK,
        project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint, **_credentials(emulator)}),
    )
    assert outputs["ReviewRoleArn"] == iam.get_role(RoleName=REVIEW_ROLE)["Role"]["Arn"]
    for stage in ("local", "local-production"):
        assert (
            outputs[deploy_role_output(stage)]
            == (iam.get_role(RoleName=f"{DEPLOY_ROLE_PREFIX}{stage}")["Role"]["Arn"])
        )
    assert outputs["PermissionsBoundaryArn"].endswith(":policy/image-service-boundary")


# ---- the DNS account's delegation roles (issue 35), applied and read back -------------------
DNS_STACK = "image-service-dns-local"
PRODUCTION_ZONE = "images.lego-api.com"  # local-production's zone, delegated from lego-api.com


@pytest.fixture(scope="module")
def dns_run(first_run, emulator, outdir):
    """`python -m ops.bootstrap local-dns` after the account's own bootstrap, as
    docs/first-deploy.md step 3 orders them (a writer trusts a deploy role, which must exist)."""
    return bootstrap(emulator, outdir, "local-dns")


def test_the_dns_bootstrap_applies_the_delegation_roles_with_their_state_in_the_bucket(
    dns_run, emulator
):
    assert dns_run.returncode == 0, dns_run.stdout[-3000:] + dns_run.stderr
    assert dns_run.stdout.rstrip().endswith(
        f"{DNS_STACK}: the delegation roles of lego-api.com (a writer for local-production, "
        f"and the reader) are applied; their state is in "
        f"s3://{LOCAL_STATE.bucket}/image-service/dns/terraform.tfstate"
    )
    s3 = local_aws.client("s3", emulator.endpoint)
    state = json.loads(
        s3.get_object(Bucket=LOCAL_STATE.bucket, Key="image-service/dns/terraform.tfstate")[
            "Body"
        ].read()
    )
    roles = sorted(
        i["attributes"]["name"]
        for r in state["resources"]
        if r["type"] == "aws_iam_role"
        for i in r["instances"]
    )
    assert roles == ["image-service-dns-read", "image-service-dns-write-local-production"]


def _applied_role(iam, name: str):
    from tests.policies.iam import Principal

    documents = [
        iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
        for p in iam.list_role_policies(RoleName=name)["PolicyNames"]
    ]
    return Principal(f"arn:aws:iam::{EMULATOR_ACCOUNT_ID}:role/{name}", tuple(documents))


def test_the_applied_writer_changes_only_its_stages_ns_record(dns_run, iam, emulator, catalogue):
    """What IAM holds, read back, evaluated with IAM's catalogue: the writer changes the NS
    record of its stage's zone in the parent zone and nothing else; only that stage's deploy
    role may assume it."""
    from tests.policies.iam import Resource, decide

    assert dns_run.returncode == 0, dns_run.stderr
    zones = local_aws.client("route53", emulator.endpoint).list_hosted_zones_by_name(
        DNSName="lego-api.com"
    )["HostedZones"]
    [parent] = [z for z in zones if z["Name"] == "lego-api.com."]
    zone = Resource(
        f"arn:aws:route53:::hostedzone/{parent['Id'].rsplit('/', 1)[1]}",
        EMULATOR_ACCOUNT_ID,
        {},
        "route53",
        "hostedzone",
    )
    writer = _applied_role(iam, "image-service-dns-write-local-production")

    def change(names, types=("NS",)):
        keys = "route53:ChangeResourceRecordSets"
        return decide(
            catalogue,
            writer,
            "route53:ChangeResourceRecordSets",
            zone,
            {f"{keys}NormalizedRecordNames": names, f"{keys}RecordTypes": types},
        )

    assert change([PRODUCTION_ZONE])
    assert not change(["images-dev.lego-api.com"])
    assert not change([PRODUCTION_ZONE], types=["A"])
    assert not change(["lego-api.com"])
    assert not decide(catalogue, writer, "route53:DeleteHostedZone", zone)
    [statement] = iam.get_role(RoleName="image-service-dns-write-local-production")["Role"][
        "AssumeRolePolicyDocument"
    ]["Statement"]
    # (IAM gives one principal as a string, moto as a list of one)
    trusted = statement["Principal"]["AWS"]
    assert (trusted if isinstance(trusted, list) else [trusted]) == [
        f"arn:aws:iam::{EMULATOR_ACCOUNT_ID}:role/image-service-deploy-local-production"
    ]
    reader = _applied_role(iam, "image-service-dns-read")
    assert decide(catalogue, reader, "route53:ListResourceRecordSets", zone)
    assert not decide(
        catalogue,
        reader,
        "route53:ChangeResourceRecordSets",
        zone,
        {"route53:ChangeResourceRecordSetsNormalizedRecordNames": [PRODUCTION_ZONE]},
    )


def test_a_second_dns_run_changes_nothing(dns_run, emulator, outdir):
    again = bootstrap(emulator, outdir, "local-dns")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("No changes: the deployment already matches the configuration.") == 2
