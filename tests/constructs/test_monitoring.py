"""Monitoring and WebAcl (issue 27): every stage's alarms on the API, table, CDN, certificates
and handlers, its encrypted topics, dashboard and budget; the WAF in front of staging's and
production's CDN. Asserted per stage on the synthesized JSON; local-production's are applied
and read back in tests/deploy/test_production_deploy.py."""

from __future__ import annotations

import json

import pytest

REAL = ("dev", "staging", "production")


def alarms(synth) -> dict[str, dict]:
    return {a["alarm_name"]: a for a in synth.resources("aws_cloudwatch_metric_alarm").values()}


@pytest.mark.parametrize("name", REAL)
def test_the_api_alarms_are_awss_recommended_ones(stage, name):
    synth = stage(name)
    found = alarms(synth)
    topic = synth.ref("aws_sns_topic", "Monitoring_AlarmsTopic", "arn")
    api = synth.ref("aws_apigatewayv2_api", "ImageApi", "id")
    rate = found[f"image-service-{name}-api-5xx-rate"]
    assert rate == {
        **rate,
        "comparison_operator": "GreaterThanThreshold",
        "threshold": 0.05,
        "evaluation_periods": 3,
        "datapoints_to_alarm": 3,
        "treat_missing_data": "notBreaching",
        "alarm_actions": [topic],
        "ok_actions": [topic],
    }
    part, total, expression = rate["metric_query"]
    assert part["metric"] == {
        "namespace": "AWS/ApiGateway",
        "metric_name": "5xx",
        "dimensions": {"ApiId": api},
        "period": 60,
        "stat": "Sum",
    }
    assert total["metric"]["metric_name"] == "Count"
    assert expression == {
        "id": "rate",
        "expression": "IF(total > 0, part / total, 0)",
        "label": "5xx / Count",
        "return_data": True,
    }
    four = found[f"image-service-{name}-api-4xx-rate"]
    assert (four["threshold"], four["evaluation_periods"]) == (0.05, 5)
    assert four["metric_query"][0]["metric"]["metric_name"] == "4xx"
    latency = found[f"image-service-{name}-api-latency"]
    assert latency == {
        **latency,
        "namespace": "AWS/ApiGateway",
        "metric_name": "Latency",
        "extended_statistic": "p99",
        "threshold": 2000,
        "evaluation_periods": 5,
        "dimensions": {"ApiId": api},
    }
    assert "statistic" not in latency
    assert "First:" in latency["alarm_description"]


@pytest.mark.parametrize("name", REAL)
def test_the_table_and_each_index_alarm_on_throttles_and_the_table_on_system_errors(stage, name):
    found = alarms(stage(name))
    table = f"ImageMetadata-{name}"
    for index in (None, "UserIndex", "AlbumIndex"):
        for kind, metric in (("read", "ReadThrottleEvents"), ("write", "WriteThrottleEvents")):
            slug = f"table-{index}-{kind}" if index else f"table-{kind}"
            alarm = found[f"image-service-{name}-{slug}-throttles"]
            dimensions = {"TableName": "${aws_dynamodb_table.MetadataTable_62E6394A.name}"}
            if index:
                dimensions["GlobalSecondaryIndexName"] = index
            assert alarm == {
                **alarm,
                "namespace": "AWS/DynamoDB",
                "metric_name": metric,
                "statistic": "Sum",
                "dimensions": dimensions,
                "threshold": 0,
                "evaluation_periods": 5,
            }, (table, index, kind)
    errors = found[f"image-service-{name}-table-system-errors"]
    assert (errors["metric_name"], errors["evaluation_periods"]) == ("SystemErrors", 15)


@pytest.mark.parametrize("name", REAL)
def test_the_cdn_and_its_certificate_alarm_in_us_east_1_on_the_global_topic(stage, name):
    synth = stage(name)
    found = alarms(synth)
    global_topic = synth.ref("aws_sns_topic", "Monitoring_GlobalAlarmsTopic", "arn")
    cdn = found[f"image-service-{name}-cdn-5xx-error-rate"]
    assert cdn == {
        **cdn,
        "namespace": "AWS/CloudFront",
        "metric_name": "5xxErrorRate",
        "statistic": "Average",
        "dimensions": {
            "DistributionId": synth.ref("aws_cloudfront_distribution", "ImageCdn", "id"),
            "Region": "Global",
        },
        "threshold": 5,
        "evaluation_periods": 5,
        "provider": "aws.us_east_1",
        "alarm_actions": [global_topic],
    }
    expiry = found[f"image-service-{name}-cdn-certificate-expiry"]
    assert expiry == {
        **expiry,
        "namespace": "AWS/CertificateManager",
        "metric_name": "DaysToExpiry",
        "statistic": "Minimum",
        "period": 86400,
        "comparison_operator": "LessThanThreshold",
        "threshold": 45,
        "treat_missing_data": "missing",
        "provider": "aws.us_east_1",
    }
    api_expiry = found[f"image-service-{name}-api-certificate-expiry"]
    assert "provider" not in api_expiry  # the API's certificate: the stack's region


@pytest.mark.parametrize("name", REAL)
def test_the_topics_are_encrypted_with_keys_alarms_and_budgets_may_use(stage, name):
    synth = stage(name)
    topics = synth.resources("aws_sns_topic")
    assert sorted(t["name"] for t in topics.values()) == [
        f"image-service-{name}-alarms",
        f"image-service-{name}-us-east-1-alarms",
    ]
    keys = synth.resources("aws_kms_key")
    for topic in topics.values():
        key_name = topic["kms_master_key_id"].split(".")[1]
        key = keys[key_name]
        assert key["enable_key_rotation"] is True
        assert key.get("provider") == topic.get("provider")
        statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
        use = statements["AlarmsAndBudgetsEncryptNotifications"]
        assert use["Principal"] == {
            "Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]
        }
        assert use["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    for policy in synth.resources("aws_sns_topic_policy").values():
        [statement] = json.loads(policy["policy"])["Statement"]
        assert statement["Action"] == "sns:Publish"
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": stage_account(name)}
        }


def stage_account(name: str) -> str:
    from stacks.settings import stage_settings

    return stage_settings(name).account.account_id


def test_staging_and_production_alarms_reach_the_on_call_and_dev_may_reach_nobody(stage):
    for name in ("staging", "production"):
        subscriptions = stage(name).resources("aws_sns_topic_subscription").values()
        assert (
            sorted((s["protocol"], s["endpoint"]) for s in subscriptions)
            == [("email", "image-service-alerts@lego-moc.com")] * 2
        )
    assert stage("dev").resources("aws_sns_topic_subscription") == {}


@pytest.mark.parametrize(
    "name,monthly", [("dev", "50.00"), ("staging", "100.00"), ("production", "500.00")]
)
def test_each_stage_has_a_budget_notifying_the_topic(stage, name, monthly):
    synth = stage(name)
    budget = synth.one("aws_budgets_budget")
    topic = synth.ref("aws_sns_topic", "Monitoring_AlarmsTopic", "arn")
    assert budget == {
        **budget,
        "budget_type": "COST",
        "limit_amount": monthly,
        "limit_unit": "USD",
        "time_unit": "MONTHLY",
        "cost_filter": [
            {"name": "TagKeyValue", "values": ["user:Service$image-service", f"user:Stage${name}"]}
        ],
    }
    assert [
        (n["notification_type"], n["threshold"], n["subscriber_sns_topic_arns"])
        for n in budget["notification"]
    ] == [("ACTUAL", 100, [topic]), ("FORECASTED", 100, [topic])]


@pytest.mark.parametrize("name", REAL)
def test_the_dashboard_shows_every_alarm_and_the_services_metrics(stage, name):
    synth = stage(name)
    body = json.loads(synth.one("aws_cloudwatch_dashboard")["dashboard_body"])
    alarm_widget, *graphs = body["widgets"]
    assert len(alarm_widget["properties"]["alarms"]) == len(alarms(synth))
    titles = [g["properties"]["title"] for g in graphs]
    assert titles == [
        "API requests, 4xx, 5xx",
        "API latency (ms)",
        "Table consumed capacity",
        "Table throttles",
        "Table latency (ms)",
        "CDN requests",
        "CDN error rates (%)",
        "CDN bytes downloaded",
        # Staging's and production's backups and cache (dev has neither), per node.
        *(["Backup jobs (daily)"] if name != "dev" else []),
        *(
            ["Cache memory used (%)", "Cache engine CPU (%)", "Cache connections"]
            if name != "dev"
            else []
        ),
    ]
    regions = {g["properties"]["title"]: g["properties"]["region"] for g in graphs}
    assert regions["CDN requests"] == "us-east-1" and regions["Table throttles"] == "us-east-1"


def test_a_handler_added_as_the_guide_shows_gets_its_three_alarms(handler_stack):
    found = alarms(handler_stack)
    function = "image-service-dev-get-image"
    errors = found[f"{function}-errors"]
    assert errors == {
        **errors,
        "namespace": "AWS/Lambda",
        "metric_name": "Errors",
        "dimensions": {"FunctionName": function},
        "statistic": "Sum",
        "threshold": 0,
        "evaluation_periods": 3,
    }
    assert found[f"{function}-throttles"]["evaluation_periods"] == 5
    duration = found[f"{function}-duration"]
    # p90 above 80 % of its 10 s timeout, 15 of 15 minutes.
    assert (duration["extended_statistic"], duration["threshold"]) == ("p90", 8000)
    assert duration["evaluation_periods"] == 15
    body = json.loads(handler_stack.one("aws_cloudwatch_dashboard")["dashboard_body"])
    assert f"{function}: invocations, errors, duration" in [
        w["properties"].get("title") for w in body["widgets"]
    ]


@pytest.mark.parametrize("name", ("staging", "production"))
def test_staging_and_production_put_a_web_acl_in_front_of_the_cdn(stage, name):
    synth = stage(name)
    acl = synth.one("aws_wafv2_web_acl")
    assert acl["scope"] == "CLOUDFRONT" and acl["provider"] == "aws.us_east_1"
    assert acl["default_action"] == {"allow": {}}
    assert [r["name"] for r in acl["rule"]] == [
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAnonymousIpList",
        "rate-per-ip",
    ]
    assert [r["priority"] for r in acl["rule"]] == [0, 1, 2, 3]
    # Counted, never blocking: VPN users may see public images.
    assert acl["rule"][2]["override_action"] == {"count": {}}
    assert acl["rule"][0]["override_action"] == {"none": {}}
    rate = acl["rule"][3]
    assert rate["statement"] == {
        "rate_based_statement": {"limit": 2000, "aggregate_key_type": "IP"}
    }
    assert rate["action"] == {"block": {}}
    assert all(r["visibility_config"]["cloudwatch_metrics_enabled"] for r in acl["rule"])
    assert synth.one("aws_cloudfront_distribution")["web_acl_id"] == (
        synth.ref("aws_wafv2_web_acl", "Waf", "arn")
    )


def test_the_web_acls_keep_their_logs_and_dev_has_no_web_acl(stage):
    logging = stage("production").one("aws_wafv2_web_acl_logging_configuration")
    [group] = [
        g
        for g in stage("production").resources("aws_cloudwatch_log_group").values()
        if g["name"].startswith("aws-waf-logs-")
    ]
    assert group == {
        **group,
        "name": "aws-waf-logs-image-service-production-cdn",
        "retention_in_days": 90,
        "provider": "aws.us_east_1",
    }
    assert len(logging["log_destination_configs"]) == 1
    assert [
        g["retention_in_days"]
        for g in stage("staging").resources("aws_cloudwatch_log_group").values()
        if g["name"].startswith("aws-waf-logs-")
    ] == [14]
    assert stage("dev").resources("aws_wafv2_web_acl") == {}
    assert "web_acl_id" not in stage("dev").one("aws_cloudfront_distribution")


def test_monitoring_built_directly_with_bad_props_is_refused(bare_stack):
    from constructs_lib.monitoring.construct import Monitoring
    from constructs_lib.monitoring.props import Budget, MonitoringProps, Subscription
    from tests.constructs import refusal

    props = MonitoringProps(
        name="bare", subscriptions=(Subscription("sms", "+1555"),), budget=Budget(0)
    )
    assert refusal(bare_stack, lambda: Monitoring(bare_stack, props, "123456789012")) == (
        "Monitoring 'bare': 2 problems:\n"
        "  - `subscriptions[0].protocol`: 'sms' is not a subscription protocol here. Fix: use "
        "'email' or 'https'.\n"
        "  - `budget.monthly_usd`: 0 is not a budget. Fix: use dollars > 0."
    )


def test_a_concerns_alarm_thresholds_are_checked_with_its_props(bare_stack, tmp_path):
    """The thresholds live with the concern they watch (its props' `alarms`): bad ones are
    refused with the construct's other problems, named under `alarms`."""
    from constructs_lib.image_handler.props import HandlerAlarms, ImageHandlerProps
    from constructs_lib.metadata_table.construct import MetadataTable
    from constructs_lib.metadata_table.props import MetadataTableProps, TableAlarms
    from constructs_lib.metrics import Threshold
    from tests.constructs import refusal

    table = MetadataTableProps(name="bare", alarms=TableAlarms(throttles=Threshold(1, 0)))
    assert refusal(bare_stack, lambda: MetadataTable(bare_stack, "T", table)) == (
        "MetadataTable 'bare': `alarms.throttles.periods`: 0 is not a number of evaluation "
        "periods CloudWatch takes. Fix: use 1-1440 periods"
    )
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return {}\n")
    handler = ImageHandlerProps(
        name="h",
        source_dir=str(tmp_path),
        handler="app.handler",
        alarms=HandlerAlarms(duration_of_timeout=1.5),
    )
    assert [(p.setting, p.fix) for p in handler.problems()] == [
        ("alarms.duration_of_timeout", "use a fraction in (0, 1], e.g. 0.8")
    ]


def test_the_fast_emulator_stage_uses_awss_managed_key_and_the_faithful_one_its_own(stage):
    """monitoring.customer_managed_keys=False only on `local` (the emulator table: each key's
    create waits ~20 s in the provider); a real stage setting it is refused
    (tests/stacks/test_bad_inputs.py)."""
    local = stage("local").resources("aws_sns_topic").values()
    assert [t["kms_master_key_id"] for t in local] == ["alias/aws/sns"] * 2
    assert stage("local").resources("aws_kms_key") == {}
    assert len(stage("local-production").resources("aws_kms_key")) == 2
