"""ImageBucket: the SPEC's "S3 bucket" section, one test per requirement."""

from dataclasses import replace

import pytest

from stacks.settings import stage_settings

STAGES = ("dev", "staging", "production")


def rules_by_id(synth):
    return {r["id"]: r for r in synth.one("aws_s3_bucket_lifecycle_configuration")["rule"]}


def policy_statements(synth):
    return {
        s["sid"]: s for s in next(iter(synth.data("aws_iam_policy_document").values()))["statement"]
    }


@pytest.mark.parametrize("name", STAGES)
def test_bucket_name_per_stage(stage, name):
    assert stage(name).one("aws_s3_bucket")["bucket"] == f"images-lego-moc-{name}"


@pytest.mark.parametrize("name", STAGES)
def test_cors_rule(stage, name):
    """The SPEC's methods, origins and headers; the ETag exposed (a browser's multipart upload
    completes with each part's) and preflights cached for an hour (issue 39)."""
    cors = stage(name).one("aws_s3_bucket_cors_configuration")["cors_rule"]
    assert cors == [
        {
            "allowed_methods": ["GET", "PUT", "POST", "DELETE", "HEAD"],
            "allowed_origins": ["https://lego-moc.com", "https://*.lego-moc.com"],
            "allowed_headers": ["*"],
            "expose_headers": ["ETag", "x-amz-version-id", "x-amz-request-id", "x-amz-id-2"],
            "max_age_seconds": 3600,
        }
    ]


def test_the_local_stage_answers_the_local_web_origin_with_the_same_rule(stage):
    [rule] = stage("local").one("aws_s3_bucket_cors_configuration")["cors_rule"]
    assert rule["allowed_origins"][-1] == "http://localhost:5173"
    assert (rule["expose_headers"][0], rule["max_age_seconds"]) == ("ETag", 3600)


@pytest.mark.parametrize("name", STAGES)
def test_sse_s3_encryption(stage, name):
    rule = stage(name).one("aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule == [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]


@pytest.mark.parametrize("name", STAGES)
def test_all_public_access_blocked(stage, name):
    from cdktf import Testing

    assert Testing.to_have_resource_with_properties(
        stage(name).text,
        "aws_s3_bucket_public_access_block",
        {
            "block_public_acls": True,
            "block_public_policy": True,
            "ignore_public_acls": True,
            "restrict_public_buckets": True,
        },
    )


@pytest.mark.parametrize("name", STAGES)
def test_object_ownership_enforced(stage, name):
    controls = stage(name).one("aws_s3_bucket_ownership_controls")
    assert controls["rule"] == {"object_ownership": "BucketOwnerEnforced"}


@pytest.mark.parametrize("name", STAGES)
def test_intelligent_tiering_immediately_and_multipart_abort_after_one_day(stage, name):
    rules = rules_by_id(stage(name))
    assert rules["intelligent-tiering"]["transition"] == [
        {"days": 0, "storage_class": "INTELLIGENT_TIERING"}
    ]
    assert rules["intelligent-tiering"]["status"] == "Enabled"
    assert rules["abort-incomplete-multipart-uploads"]["abort_incomplete_multipart_upload"] == [
        {"days_after_initiation": 1}
    ]


@pytest.mark.parametrize("name", STAGES + ("local-production",))
def test_rules_are_a_lifecycle_configuration_resource(stage, name):
    synth = stage(name)
    assert "lifecycle_rule" not in synth.one("aws_s3_bucket")
    assert all(
        rule["filter"] == [{"prefix": ""}] and rule["status"] == "Enabled"
        for rule in rules_by_id(synth).values()
    )


def test_fast_emulator_stage_gives_the_same_rules_inline(stage):
    # The deprecated inline form has no 55 s read-back wait (stacks/settings/emulator.py).
    local, dev = stage("local"), stage("dev")
    assert local.resources("aws_s3_bucket_lifecycle_configuration") == {}
    inline = {r["id"]: r for r in local.one("aws_s3_bucket")["lifecycle_rule"]}
    assert all(r["enabled"] is True and "prefix" not in r for r in inline.values())
    # dev's rules, and (the local stage keeps versions for `make drill`: EmulatorTwin's
    # versioned_bucket) the expiry of noncurrent versions.
    assert sorted(rules_by_id(dev)) == ["abort-incomplete-multipart-uploads", "intelligent-tiering"]
    assert sorted(inline) == [
        "abort-incomplete-multipart-uploads",
        "expire-noncurrent-versions",
        "intelligent-tiering",
    ]
    assert local.one("aws_s3_bucket_versioning")["versioning_configuration"] == {
        "status": "Enabled"
    }
    assert (
        inline["intelligent-tiering"]["transition"]
        == rules_by_id(dev)["intelligent-tiering"]["transition"]
        == [{"days": 0, "storage_class": "INTELLIGENT_TIERING"}]
    )
    assert (
        inline["abort-incomplete-multipart-uploads"]["abort_incomplete_multipart_upload_days"] == 1
    )


def test_inline_rules_carry_noncurrent_version_expiry_when_versioned(variant):
    local = stage_settings("local")
    synth = variant("local", bucket=replace(local.bucket, versioning=True))
    inline = {r["id"]: r for r in synth.one("aws_s3_bucket")["lifecycle_rule"]}
    assert inline["expire-noncurrent-versions"]["noncurrent_version_expiration"] == {"days": 30}
    assert inline["expire-noncurrent-versions"]["expiration"] == {
        "expired_object_delete_marker": True
    }


def test_tiering_days_is_one_setting_away(variant):
    dev = stage_settings("dev")
    synth = variant("dev", bucket=replace(dev.bucket, intelligent_tiering_days=30))
    assert rules_by_id(synth)["intelligent-tiering"]["transition"][0]["days"] == 30


@pytest.mark.parametrize(
    "name,versioned", [("dev", False), ("staging", True), ("production", True)]
)
def test_versioning_per_stage_with_noncurrent_expiry(stage, name, versioned):
    synth = stage(name)
    versioning = synth.resources("aws_s3_bucket_versioning")
    rules = rules_by_id(synth)
    if versioned:
        assert next(iter(versioning.values()))["versioning_configuration"] == {"status": "Enabled"}
        assert rules["expire-noncurrent-versions"]["noncurrent_version_expiration"] == [
            {"noncurrent_days": 30}
        ]
        # Once its versions have expired, a deleted image's delete marker goes too.
        assert rules["expire-noncurrent-versions"]["expiration"] == [
            {"expired_object_delete_marker": True}
        ]
    else:
        assert versioning == {}
        assert "expire-noncurrent-versions" not in rules


def test_turning_versioning_on_in_dev_adds_it(variant):
    dev = stage_settings("dev")
    synth = variant("dev", bucket=replace(dev.bucket, versioning=True))
    assert len(synth.resources("aws_s3_bucket_versioning")) == 1
    assert "expire-noncurrent-versions" in rules_by_id(synth)


@pytest.mark.parametrize(
    "name,protected", [("dev", False), ("staging", False), ("production", True)]
)
def test_production_bucket_is_protected(stage, name, protected):
    bucket = stage(name).one("aws_s3_bucket")
    assert bucket["force_destroy"] is (not protected)
    assert bucket.get("lifecycle", {}).get("prevent_destroy", False) is protected


@pytest.mark.parametrize("name", STAGES)
def test_policy_denies_non_tls(stage, name):
    deny = policy_statements(stage(name))["DenyInsecureTransport"]
    assert deny["effect"] == "Deny"
    assert deny["actions"] == ["s3:*"]
    assert deny["principals"] == [{"type": "*", "identifiers": ["*"]}]
    assert deny["condition"] == [
        {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
    ]
    assert len(deny["resources"]) == 2


def test_policy_is_attached_to_the_bucket(stage):
    policy = stage("dev").one("aws_s3_bucket_policy")
    assert policy["policy"].startswith("${data.aws_iam_policy_document.")
    assert policy["bucket"].startswith("${aws_s3_bucket.")


def test_bucket_outputs(stage):
    outputs = stage("dev").json["output"]
    assert outputs["BucketName"]["value"].endswith(".bucket}")
    assert outputs["BucketArn"]["value"].endswith(".arn}")


def test_built_directly_with_bad_props_every_problem_is_reported_at_once(bare_stack):
    from constructs_lib.image_bucket.construct import ImageBucket, ImageBucketProps
    from tests.constructs import refusal

    props = ImageBucketProps(
        name="Bad_Bucket",
        cors_origins=("http://x/",),
        intelligent_tiering_days=-1,
        noncurrent_version_expiration_days=0,
    )
    assert refusal(bare_stack, lambda: ImageBucket(bare_stack, "Bucket", props)) == (
        "ImageBucket 'Bad_Bucket': 4 problems:\n"
        "  - `name`: 'Bad_Bucket' has characters or ends S3 does not allow. Fix: use 3-63 "
        "characters of lowercase letters, digits, '.' and '-', starting and ending with a letter "
        "or digit, e.g. 'images-lego-moc-dev'.\n"
        "  - `cors_origins`: 'http://x/' is not an origin S3 CORS accepts. Fix: use an origin "
        "like 'https://lego-moc.com' or 'https://*.lego-moc.com'.\n"
        "  - `intelligent_tiering_days`: -1 is not a whole number of days >= 0. Fix: set a whole "
        "number of days of at least 0.\n"
        "  - `noncurrent_version_expiration_days`: 0 is not a whole number of days >= 1. Fix: "
        "set a whole number of days of at least 1."
    )
