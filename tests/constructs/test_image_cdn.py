"""ImageCdn: the SPEC's "CloudFront distribution" section, per stage and origin-access mode."""

from dataclasses import replace

import pytest

from stacks.settings import stage_settings

REAL = ("dev", "staging", "production")


def statements(synth):
    return {
        s["sid"]: s for s in next(iter(synth.data("aws_iam_policy_document").values()))["statement"]
    }


@pytest.fixture(scope="module")
def oai_dev(variant):
    return variant("dev", cdn=replace(stage_settings("dev").cdn, origin_access="OAI"))


@pytest.mark.parametrize("name", REAL + ("local", "local-production"))
def test_distribution_basics(stage, name):
    dist = stage(name).one("aws_cloudfront_distribution")
    assert dist["price_class"] == "PriceClass_100"
    assert dist["http_version"] == "http2and3"
    assert dist["is_ipv6_enabled"] is True
    assert "default_root_object" not in dist
    behavior = dist["default_cache_behavior"]
    assert behavior["viewer_protocol_policy"] == "redirect-to-https"
    assert behavior["compress"] is True
    # No OPTIONS: images are read with CORS "simple" GET/HEAD requests, never preflighted, and
    # a preflight would reach S3 without the headers S3 needs to answer it (finding 7).
    assert behavior["allowed_methods"] == ["GET", "HEAD"]
    assert behavior["cached_methods"] == ["GET", "HEAD"]
    assert "origin_request_policy_id" not in behavior
    # The provider's wait for the edges cannot be bounded (no timeouts block in 5.100): the
    # apply does not wait for them (docs/first-deploy.md, "Bounded waits").
    assert dist["wait_for_deployment"] is False
    if name in REAL:
        # The distribution's own policy: CORS for the app's origins + the security headers.
        [policy] = stage(name).resources("aws_cloudfront_response_headers_policy")
        assert behavior["response_headers_policy_id"] == (
            f"${{aws_cloudfront_response_headers_policy.{policy}.id}}"
        )
    else:
        # EMULATOR_RESPONSE_HEADERS_GAP: AWS's managed SecurityHeadersPolicy, by id.
        assert behavior["response_headers_policy_id"] == "67f7725c-6f97-4210-82d7-5512b31e9d03"
        assert stage(name).resources("aws_cloudfront_response_headers_policy") == {}


@pytest.mark.parametrize("name", REAL)
def test_cors_is_answered_at_the_edge_for_the_apps_exact_origins(stage, name):
    policy = stage(name).one("aws_cloudfront_response_headers_policy")
    # The app's origins, the same exact list as the API's (asserted in test_image_api.py).
    origins = stage(name).one("aws_apigatewayv2_api")["cors_configuration"]["allow_origins"]
    assert "https://lego-moc.com" in origins
    cors = policy["cors_config"]
    assert cors["access_control_allow_origins"] == {"items": origins}
    assert cors["access_control_allow_methods"] == {"items": ["GET", "HEAD"]}
    assert cors["access_control_allow_credentials"] is False
    assert cors["origin_override"] is True
    # The cache key stays free of Origin: the headers are added per viewer request.
    cache = stage(name).one("aws_cloudfront_cache_policy")
    keys = cache["parameters_in_cache_key_and_forwarded_to_origin"]
    assert keys["headers_config"] == {"header_behavior": "none"}


@pytest.mark.parametrize("name", REAL)
def test_every_security_header_of_the_managed_policy_is_kept(stage, name):
    headers = stage(name).one("aws_cloudfront_response_headers_policy")["security_headers_config"]
    assert headers == {
        "content_type_options": {"override": True},
        "frame_options": {"frame_option": "SAMEORIGIN", "override": True},
        "referrer_policy": {"override": True, "referrer_policy": "strict-origin-when-cross-origin"},
        "strict_transport_security": {
            "access_control_max_age_sec": 31536000,
            "include_subdomains": True,
            "preload": True,
            "override": True,
        },
        "xss_protection": {"mode_block": True, "override": True, "protection": True},
    }


@pytest.mark.parametrize("name", REAL)
def test_custom_cache_policy_ttls_and_compression(stage, name):
    from cdktf import Testing

    synth = stage(name)
    assert Testing.to_have_resource_with_properties(
        synth.text,
        "aws_cloudfront_cache_policy",
        {
            "min_ttl": 0,
            "default_ttl": 86400,
            "max_ttl": 31536000,
            "parameters_in_cache_key_and_forwarded_to_origin": {
                "enable_accept_encoding_brotli": True,
                "enable_accept_encoding_gzip": True,
                "cookies_config": {"cookie_behavior": "none"},
                "headers_config": {"header_behavior": "none"},
                "query_strings_config": {"query_string_behavior": "none"},
            },
        },
    )
    policy_id = synth.one("aws_cloudfront_distribution")["default_cache_behavior"][
        "cache_policy_id"
    ]
    assert policy_id.startswith("${aws_cloudfront_cache_policy.")


@pytest.mark.parametrize("name", REAL + ("local-production",))
def test_distribution_is_enabled_and_deleted_on_destroy(stage, name):
    dist = stage(name).one("aws_cloudfront_distribution")
    assert dist["enabled"] is True
    assert "retain_on_delete" not in dist


def test_fast_emulator_stage_creates_it_disabled_and_retained(stage):
    # No 30 s disable and 15 s delete wait on destroy (stacks/settings/emulator.py, EMULATOR_TABLE).
    dist = stage("local").one("aws_cloudfront_distribution")
    assert dist["enabled"] is False
    assert dist["retain_on_delete"] is True


def test_local_stage_uses_the_managed_caching_optimized_policy(stage):
    from constructs_lib.image_cdn.construct import MANAGED_CACHING_OPTIMIZED_POLICY_ID

    synth = stage("local")
    assert synth.resources("aws_cloudfront_cache_policy") == {}
    assert (
        synth.one("aws_cloudfront_distribution")["default_cache_behavior"]["cache_policy_id"]
        == MANAGED_CACHING_OPTIMIZED_POLICY_ID
    )


@pytest.mark.parametrize("name", REAL + ("local",))
def test_oac_is_the_default_origin_access(stage, name):
    synth = stage(name)
    oac = synth.one("aws_cloudfront_origin_access_control")
    assert (
        oac["origin_access_control_origin_type"],
        oac["signing_behavior"],
        oac["signing_protocol"],
    ) == ("s3", "always", "sigv4")
    origin = synth.one("aws_cloudfront_distribution")["origin"][0]
    assert origin["origin_access_control_id"].startswith("${aws_cloudfront_origin_access_control.")
    assert origin["domain_name"].endswith(".bucket_regional_domain_name}")
    assert "s3_origin_config" not in origin
    assert synth.resources("aws_cloudfront_origin_access_identity") == {}


@pytest.mark.parametrize("name", REAL)
def test_oac_bucket_grant_is_for_this_distribution_only(stage, name):
    grant = statements(stage(name))["AllowCloudFrontRead"]
    assert grant["effect"] == "Allow"
    assert grant["actions"] == ["s3:GetObject"]
    assert grant["principals"] == [{"type": "Service", "identifiers": ["cloudfront.amazonaws.com"]}]
    assert grant["condition"][0]["test"] == "StringEquals"
    assert grant["condition"][0]["variable"] == "AWS:SourceArn"
    assert grant["condition"][0]["values"][0].startswith("${aws_cloudfront_distribution.")
    assert "DenyInsecureTransport" in statements(stage(name))


def test_oai_mode_uses_an_identity_and_grants_its_iam_arn(oai_dev):
    oai_dev.one("aws_cloudfront_origin_access_identity")
    assert oai_dev.resources("aws_cloudfront_origin_access_control") == {}
    origin = oai_dev.one("aws_cloudfront_distribution")["origin"][0]
    assert origin["s3_origin_config"]["origin_access_identity"].endswith(
        ".cloudfront_access_identity_path}"
    )
    assert "origin_access_control_id" not in origin
    grant = statements(oai_dev)["AllowCloudFrontRead"]
    assert grant["principals"][0]["type"] == "AWS"
    assert grant["principals"][0]["identifiers"][0].endswith(".iam_arn}")
    assert "DenyInsecureTransport" in statements(oai_dev)


@pytest.mark.parametrize(
    "name,host",
    [
        ("dev", "cdn.images-dev.lego-api.com"),
        ("staging", "cdn.images-staging.lego-api.com"),
        ("production", "cdn.images.lego-api.com"),
    ],
)
def test_custom_domain_with_us_east_1_certificate(stage, name, host):
    synth = stage(name)
    dist = synth.one("aws_cloudfront_distribution")
    assert dist["aliases"] == [host]
    assert dist["viewer_certificate"]["ssl_support_method"] == "sni-only"
    assert dist["viewer_certificate"]["minimum_protocol_version"] == "TLSv1.2_2021"
    assert dist["viewer_certificate"]["acm_certificate_arn"].startswith(
        "${aws_acm_certificate_validation."
    )
    certs = {c["domain_name"]: c for c in synth.resources("aws_acm_certificate").values()}
    assert certs[host]["provider"] == "aws.us_east_1"
    assert certs[host]["validation_method"] == "DNS"
    validations = [
        v
        for v in synth.resources("aws_acm_certificate_validation").values()
        if v.get("provider") == "aws.us_east_1"
    ]
    assert len(validations) == 1
    us_east_1 = [p for p in synth.json["provider"]["aws"] if p.get("alias") == "us_east_1"]
    assert us_east_1[0]["region"] == "us-east-1"
    records = {
        (r["name"], r["type"])
        for r in synth.resources("aws_route53_record").values()
        if "alias" in r
    }
    assert {(host, "A"), (host, "AAAA")} <= records
    assert synth.json["output"]["CdnCustomDomain"]["value"] == host


def test_domains_off_removes_certificates_validation_and_records(variant):
    synth = variant("dev", domains=None)
    for tf_type in (
        "aws_acm_certificate",
        "aws_acm_certificate_validation",
        "aws_route53_record",
        "aws_apigatewayv2_domain_name",
        "aws_apigatewayv2_api_mapping",
    ):
        assert synth.resources(tf_type) == {}, tf_type
    assert synth.data("aws_route53_zone") == {}
    dist = synth.one("aws_cloudfront_distribution")
    assert dist["viewer_certificate"] == {"cloudfront_default_certificate": True}
    assert "aliases" not in dist
    assert "CdnCustomDomain" not in synth.json["output"]


def test_cdn_outputs(stage):
    outputs = stage("dev").json["output"]
    assert outputs["CloudFrontDomain"]["value"].endswith(".domain_name}")
    assert outputs["CloudFrontDistributionId"]["value"].endswith(".id}")


def test_production_delivers_standard_logs_v2_to_a_log_group_with_a_retention(stage):
    synth = stage("production")
    [group] = [
        (name, g)
        for name, g in synth.resources("aws_cloudwatch_log_group").items()
        if g["name"] == "/aws/cloudfront/image-service-production"
    ]
    group_name, group_body = group
    assert group_body["retention_in_days"] == 90
    [distribution] = synth.resources("aws_cloudfront_distribution")
    source = synth.one("aws_cloudwatch_log_delivery_source")
    assert source == {
        **source,
        "name": "image-service-production-cdn",
        "log_type": "ACCESS_LOGS",
        "resource_arn": f"${{aws_cloudfront_distribution.{distribution}.arn}}",
    }
    destination = synth.one("aws_cloudwatch_log_delivery_destination")
    assert destination["output_format"] == "json"
    # CloudFront delivers standard logs v2 only from us-east-1: all four resources are made
    # by the us-east-1 provider, whatever the stage's region (finding 6).
    for tf_type in (
        "aws_cloudwatch_log_delivery_source",
        "aws_cloudwatch_log_delivery_destination",
        "aws_cloudwatch_log_delivery",
    ):
        assert synth.one(tf_type)["provider"] == "aws.us_east_1"
    assert group_body["provider"] == "aws.us_east_1"
    assert destination["delivery_destination_configuration"] == [
        {"destination_resource_arn": f"${{aws_cloudwatch_log_group.{group_name}.arn}}"}
    ]
    [(source_name, _)] = synth.resources("aws_cloudwatch_log_delivery_source").items()
    [(destination_name, _)] = synth.resources("aws_cloudwatch_log_delivery_destination").items()
    delivery = synth.one("aws_cloudwatch_log_delivery")
    assert delivery["delivery_source_name"] == (
        f"${{aws_cloudwatch_log_delivery_source.{source_name}.name}}"
    )
    assert delivery["delivery_destination_arn"] == (
        f"${{aws_cloudwatch_log_delivery_destination.{destination_name}.arn}}"
    )
    # No legacy logging block (it needs an ACL bucket).
    assert "logging_config" not in synth.one("aws_cloudfront_distribution")


@pytest.mark.parametrize("name", ("dev", "staging", "local"))
def test_other_stages_keep_cdn_logging_off_by_default(stage, name):
    assert stage(name).resources("aws_cloudwatch_log_delivery_source") == {}


def test_built_directly_with_bad_props_every_problem_is_reported_at_once(bare_stack):
    from constructs_lib.image_bucket.construct import ImageBucket, ImageBucketProps
    from constructs_lib.image_cdn.construct import ImageCdn, ImageCdnProps
    from tests.constructs import refusal

    bucket = ImageBucket(bare_stack, "Bucket", ImageBucketProps(name="images-bare"))
    props = ImageCdnProps(
        name="bare",
        cors_origins=("lego",),
        price_class="PriceClass_9",
        min_ttl=10,
        default_ttl=5,
        max_ttl=1,
    )
    assert refusal(bare_stack, lambda: ImageCdn(bare_stack, "Cdn", bucket, props)) == (
        "ImageCdn 'bare': 3 problems:\n"
        "  - `cors_origins`: 'lego' is not an origin (scheme://host[:port], no path). Fix: write "
        "it like 'https://lego-moc.com', without a trailing slash or path.\n"
        "  - `price_class`: 'PriceClass_9' is not a CloudFront price class. Fix: use one of "
        "PriceClass_100, PriceClass_200, PriceClass_All.\n"
        "  - `min_ttl/default_ttl/max_ttl`: min 10 <= default 5 <= max 1 does not hold. Fix: use "
        "non-negative seconds with min_ttl <= default_ttl <= max_ttl."
    )
