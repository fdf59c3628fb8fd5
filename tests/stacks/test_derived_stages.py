"""Stages derived from dev by their names (issue 30): `pr-<number>` and `dev-<name>`, with no
edit to the stage table: their names, account (the previews account, not dev's: issue 35),
state key, tags and destroyability as synthesized; a name too long for a resource refused;
what the nightly clean-up removes. (One is deployed and destroyed on the emulator in
tests/deploy/test_derived_deploy.py.)"""

from __future__ import annotations

import datetime
import json
from dataclasses import replace

import pytest

from stacks.errors import SettingsError
from stacks.settings import ACCOUNTS, stage_settings
from stacks.settings.derived import CREATED_ON_ENV, DerivedStages, derive, kind
from stacks.settings.stages import PREVIEWS_ACCOUNT

DEV_ACCOUNT = ACCOUNTS["dev"].account_id
PREVIEWS = PREVIEWS_ACCOUNT.account_id


@pytest.fixture(scope="module")
def derived(tmp_path_factory, monkeypatch_module):
    """pr-42 and dev-alice synthesized (their creation date given, as bin/cdktf gives it)."""
    from stacks.app import build_app
    from tests.conftest import Synth

    monkeypatch_module.setenv(CREATED_ON_ENV, "2026-11-30")
    outdir = tmp_path_factory.mktemp("derived")
    build_app([stage_settings("pr-42"), stage_settings("dev-alice")], outdir=str(outdir)).synth()
    found = {}
    for stage in ("pr-42", "dev-alice"):
        directory = outdir / "stacks" / f"image-service-{stage}"
        found[stage] = Synth((directory / "cdk.tf.json").read_text(), directory)
    return found


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.mark.parametrize(
    "stage,expected",
    [
        ("pr-42", ("preview", "42")),
        ("dev-alice", ("personal", "alice")),
        ("dev-a1-b2", ("personal", "a1-b2")),
    ],
)
def test_a_derived_stage_is_recognised_by_its_name(stage, expected):
    assert kind(stage) == expected


@pytest.mark.parametrize(
    "stage",
    ["pr-0", "pr-04", "pr-abc", "pr-", "dev-", "dev-Alice", "dev-a--b", "dev-a-", "dev-1a", "qa-1"],
)
def test_other_names_are_not_derived_stages_and_are_refused(stage):
    assert kind(stage) is None
    with pytest.raises(SettingsError) as refused:
        stage_settings(stage)
    assert "derived stage: pr-<number>, dev-<name>" in str(refused.value)


@pytest.mark.parametrize("stage", ["pr-42", "dev-alice"])
def test_each_has_its_own_resources_and_state_in_the_previews_account(derived, stage):
    synth = derived[stage]
    assert synth.one("aws_dynamodb_table")["name"] == f"ImageMetadata-{stage}"
    assert synth.one("aws_s3_bucket")["bucket"] == f"images-lego-moc-{stage}"
    assert synth.one("aws_apigatewayv2_api")["name"] == f"image-service-{stage}"
    assert synth.one("aws_cognito_user_pool")["name"] == f"image-service-{stage}"
    assert synth.one("aws_cloudfront_distribution")["enabled"] is True
    assert synth.json["terraform"]["backend"]["s3"] == {
        "bucket": f"lego-moc-image-service-tfstate-{PREVIEWS}",
        "key": f"image-service/{stage}/terraform.tfstate",
        "region": "us-east-1",
        "encrypt": True,
        "use_lockfile": True,
    }
    for provider in synth.json["provider"]["aws"]:
        assert provider["allowed_account_ids"] == [PREVIEWS]


def test_everything_in_it_is_destroyable(derived):
    synth = derived["pr-42"]
    for resources in synth.json["resource"].values():
        for body in resources.values():
            assert body.get("lifecycle", {}).get("prevent_destroy") in (None, False)
    assert synth.one("aws_s3_bucket")["force_destroy"] is True
    table = synth.one("aws_dynamodb_table")
    assert table["deletion_protection_enabled"] is False
    assert table["point_in_time_recovery"] == {"enabled": False}
    assert synth.one("aws_cognito_user_pool")["deletion_protection"] == "INACTIVE"
    assert stage_settings("pr-42").disposable is True


def test_short_logs_no_budget_no_subscriber_no_waf_no_domains(derived):
    synth = derived["pr-42"]
    [access] = [
        g for g in synth.resources("aws_cloudwatch_log_group").values() if "apigateway" in g["name"]
    ]
    assert access["retention_in_days"] == 3
    for absent in (
        "aws_budgets_budget",
        "aws_sns_topic_subscription",
        "aws_wafv2_web_acl",
        "aws_route53_zone",
        "aws_acm_certificate",
        "aws_apigatewayv2_domain_name",
    ):
        assert synth.resources(absent) == {}, absent
    assert "CdnCustomDomain" not in synth.json["output"]


@pytest.mark.parametrize(
    "stage,who",
    [
        ("pr-42", {"StageKind": "preview", "PullRequest": "42"}),
        ("dev-alice", {"StageKind": "personal", "Owner": "alice"}),
    ],
)
def test_every_resource_is_tagged_with_kind_owner_and_creation_date(derived, stage, who):
    synth = derived[stage]
    for provider in synth.json["provider"]["aws"]:
        assert provider["default_tags"] == [
            {
                "tags": {
                    **who,
                    "CreatedOn": "2026-11-30",
                    "Service": "image-service",
                    "Stage": stage,
                    "ManagedBy": "cdktf",
                }
            }
        ]
    # Read back by bin/cdktf before the next deploy, so the date stays the first one.
    assert synth.json["output"]["CreatedOn"]["value"] == "2026-11-30"


def test_custom_domains_under_a_zone_of_the_previews_account_are_a_setting():
    base = stage_settings("dev")
    rules = DerivedStages(account=PREVIEWS_ACCOUNT, zone_name="previews.lego-api.com")
    stage = derive("pr-42", base, PREVIEWS_ACCOUNT, rules)
    assert (stage.domains.api_hostname, stage.domains.cdn_hostname) == (
        "pr-42.previews.lego-api.com",
        "cdn.pr-42.previews.lego-api.com",
    )
    assert (stage.domains.hosted_zone_name, stage.domains.create_hosted_zone) == (
        "previews.lego-api.com",
        False,
    )
    assert stage.domains.delegation is None


def test_a_name_too_long_for_a_resource_is_refused_naming_it_and_the_limit():
    longest = "dev-" + "a" * 24  # 28 characters: the longest that fits every name
    assert stage_settings(longest).stack_name == f"image-service-{longest}"
    with pytest.raises(SettingsError) as refused:
        stage_settings(longest + "b")
    assert str(refused.value) == (
        f"Invalid setting `stage` for stage '{longest}b': '{longest}b' makes the IAM role of a "
        f"handler's name 'image-service-{longest}b-<handler>-role' (a handler named with up to "
        "16 characters after the stack's) 65 characters long; AWS allows 64. Fix: use a stage "
        "name of at most 28 characters. (Settings live in stacks/settings/; nothing was "
        "synthesized.)"
    )
    # The largest pull request number the name takes fits as well.
    assert stage_settings("pr-9999999").bucket.name == "images-lego-moc-pr-9999999"


@pytest.mark.parametrize("value", ["yesterday", "2026-13-45", "2026-1-5"])
def test_a_creation_date_that_is_not_a_date_is_refused(monkeypatch, value):
    monkeypatch.setenv(CREATED_ON_ENV, value)
    with pytest.raises(SettingsError) as refused:
        stage_settings("pr-3")
    assert str(refused.value).startswith(
        f"Invalid setting `{CREATED_ON_ENV}` for stage 'pr-3': '{value}' is not a date of the "
        "form YYYY-MM-DD. Fix: unset"
    )


def test_without_a_recorded_date_today_is_stamped(monkeypatch):
    monkeypatch.delenv(CREATED_ON_ENV, raising=False)
    tags = stage_settings("dev-bob").extra_tags
    assert tags["CreatedOn"] == datetime.date.today().isoformat()


def test_the_stage_selection_takes_derived_stages(monkeypatch):
    from stacks.settings import STAGES_ENV, selected_stages

    monkeypatch.setenv(STAGES_ENV, "dev,pr-7,local-pr-7")
    assert selected_stages() == ("dev", "pr-7", "local-pr-7")
    monkeypatch.setenv(STAGES_ENV, "pr-x")
    with pytest.raises(SettingsError) as refused:
        selected_stages()
    assert "derived stages (pr-<number>, dev-<name>)" in str(refused.value)


def test_bin_cdktf_finds_a_derived_stack_by_name():
    from ops.app_stacks import resolve

    [stack] = resolve(["image-service-pr-7"])
    assert (stack.kind, stack.settings.stage, stack.settings.disposable) == ("stage", "pr-7", True)
    [local] = resolve(["image-service-local-pr-7"])
    assert local.on_emulator and local.settings.cdn.retain_on_delete is False


def test_the_emulator_variant_keeps_nothing_behind():
    """local-pr-7: the fast stage's shortcuts, except retaining the distribution on destroy."""
    settings = stage_settings("local-pr-7")
    assert settings.emulator is not None and settings.disposable
    assert (settings.cdn.enabled, settings.cdn.retain_on_delete) == (False, False)
    assert settings.bucket.inline_lifecycle_rules is True
    assert dict(settings.extra_tags)["PullRequest"] == "7"


# ---- the nightly clean-up --------------------------------------------------------------------
def test_the_clean_up_removes_closed_previews_and_old_personal_stages():
    from ops.derived import stale

    stages = ["dev-alice", "dev-bob", "dev-carol", "pr-3", "pr-12"]
    created = {"dev-alice": "2026-11-20", "dev-bob": "2026-11-29", "pr-3": "2026-10-01"}
    found = stale(stages, {"3"}, created, datetime.date(2026, 12, 3), max_age_days=7)
    # pr-3's pull request is open (however old it is); pr-12's is not; alice's stage is 13
    # days old, bob's 4; carol's has no date: kept (the command says so).
    assert found == ["dev-alice", "pr-12"]


def test_the_clean_up_reads_stages_from_the_state_bucket_and_dates_from_tags():
    from ops.derived import created_dates, deployed_stages

    class Pages:
        def __init__(self, pages):
            self.pages = pages

        def get_paginator(self, _):
            return self

        def paginate(self, **_):
            return self.pages

    s3 = Pages(
        [
            {
                "Contents": [
                    {"Key": "image-service/dev/terraform.tfstate"},
                    {"Key": "image-service/pr-4/terraform.tfstate"},
                    {"Key": "image-service/pr-4/terraform.tfstate.tflock"},
                    {"Key": "image-service/dev-alice/terraform.tfstate"},
                    {"Key": "image-service/bootstrap/terraform.tfstate"},
                ]
            }
        ]
    )
    assert deployed_stages(s3, "bucket") == ["dev-alice", "pr-4"]
    tags = lambda **kw: [{"Key": k, "Value": v} for k, v in kw.items()]  # noqa: E731
    tagging = Pages(
        [
            {
                "ResourceTagMappingList": [
                    {"Tags": tags(Stage="dev-alice", StageKind="personal", CreatedOn="2026-11-21")},
                    {"Tags": tags(Stage="dev-alice", StageKind="personal", CreatedOn="2026-11-20")},
                    {"Tags": tags(Stage="pr-4", StageKind="preview", CreatedOn="2026-12-01")},
                ]
            }
        ]
    )
    assert created_dates(tagging) == {"dev-alice": "2026-11-20", "pr-4": "2026-12-01"}


def test_the_preview_comment_lists_the_outputs():
    from ops.derived import summary

    text = summary("image-service-pr-7", {"ApiEndpoint": "https://a", "BucketName": "b"})
    assert text.splitlines() == [
        "### Preview stage `image-service-pr-7`",
        "",
        "Deployed from this pull request's latest commit; removed when it closes.",
        "",
        "| output | value |",
        "|---|---|",
        "| `ApiEndpoint` | `https://a` |",
        "| `BucketName` | `b` |",
    ]


def test_a_disposable_stages_losses_are_accepted_and_said(capsys):
    from ops.plan_guard import DataLoss, _accepted

    losses = [DataLoss("aws_s3_bucket.B", "bucket", "delete")]
    assert _accepted("image-service-pr-7", losses, recreate_tainted=False, disposable=True) == []
    assert "delete aws_s3_bucket.B (bucket) accepted: image-service-pr-7 is a disposable" in (
        capsys.readouterr().out
    )
    assert (
        _accepted("image-service-dev", losses, recreate_tainted=False, disposable=False) == losses
    )


def test_the_preview_role_may_change_only_derived_stages(stacks):
    synth = stacks[f"image-service-state-{PREVIEWS}"]
    roles = {r["name"]: r for r in synth.resources("aws_iam_role").values()}
    assert sorted(roles) == ["image-service-deploy-preview", "image-service-review"]
    assert "image-service-deploy-preview" not in [
        r["name"]
        for r in stacks[f"image-service-state-{DEV_ACCOUNT}"].resources("aws_iam_role").values()
    ]
    [trust_name] = [roles["image-service-deploy-preview"]["assume_role_policy"].split(".")[2]]
    [statement] = synth.data("aws_iam_policy_document")[trust_name]["statement"]
    assert statement["condition"][1]["values"][0].endswith(":environment:preview")
    documents = [
        json.loads(p["policy"])
        for p in [
            *synth.resources("aws_iam_role_policy").values(),
            *synth.resources("aws_iam_policy").values(),
        ]
        if p["name"].startswith("image-service-deploy-preview")
    ]
    statements = {s["Sid"]: s for d in documents for s in d["Statement"]}
    assert statements["Table"]["Resource"] == [
        f"arn:aws:dynamodb:us-east-1:{PREVIEWS}:table/ImageMetadata-pr-*",
        f"arn:aws:dynamodb:us-east-1:{PREVIEWS}:table/ImageMetadata-pr-*/*",
        f"arn:aws:dynamodb:us-east-1:{PREVIEWS}:table/ImageMetadata-dev-*",
        f"arn:aws:dynamodb:us-east-1:{PREVIEWS}:table/ImageMetadata-dev-*/*",
    ]
    bucket = f"arn:aws:s3:::lego-moc-image-service-tfstate-{PREVIEWS}"
    assert statements["State"]["Resource"] == [
        f"{bucket}/image-service/pr-*/terraform.tfstate",
        f"{bucket}/image-service/pr-*/terraform.tfstate.tflock",
        f"{bucket}/image-service/dev-*/terraform.tfstate",
        f"{bucket}/image-service/dev-*/terraform.tfstate.tflock",
    ]
    assert "s3:DeleteObjectVersion" in statements["State"]["Action"]
    assert "tag:GetResources" in statements["OnEveryResource"]["Action"]
    # Its scopes' names, never dev's own table or bucket.
    assert not [
        r
        for s in statements.values()
        for r in s["Resource"]
        if r.endswith((":table/ImageMetadata-dev", ":::images-lego-moc-dev"))
    ]


def test_a_derived_stages_settings_are_devs_but_for_what_a_preview_needs():
    dev, preview = stage_settings("dev"), stage_settings("pr-5")
    assert preview.account == PREVIEWS_ACCOUNT != dev.account and preview.region == dev.region
    assert replace(preview.cdn, name=dev.cdn.name) == dev.cdn
    assert preview.api.cors_origins == dev.api.cors_origins


def test_a_derived_stage_names_the_previews_account_among_the_placeholders():
    from stacks.settings import placeholder_problems

    [problem] = placeholder_problems(stage_settings("pr-7"))
    assert problem.setting == "PREVIEWS_ACCOUNT"
    assert problem.fix.startswith("set PREVIEWS_ACCOUNT = AccountSettings(")
