"""The review and drift reports rendered from stored plan JSON (as `terraform show -json`
writes it): verdicts, attribute changes, sensitive values masked, long cells folded, the plan
guard's warning block, exit codes, and which stages are planned at all."""

from __future__ import annotations

import pytest

from ops import changes, review
from ops.app_stacks import resolve
from stacks.settings import LOCAL_ENDPOINT_ENV

CONFIG = {
    "resource": {
        "aws_dynamodb_table": {
            "MetadataTable_62E6394A": {
                "//": {"metadata": {"path": "image-service-dev/MetadataTable/Table"}},
                "name": "ImageMetadata-dev",
                "hash_key": "PK",
                "point_in_time_recovery": {"enabled": False},
            }
        },
        "aws_cognito_user_pool_client": {
            "UserAuth_Client_1": {
                "//": {"metadata": {"path": "image-service-dev/UserAuth/Client"}},
                "name": "web",
            }
        },
        "aws_cloudfront_distribution": {
            "ImageCdn_Distribution_1": {
                "//": {"metadata": {"path": "image-service-dev/ImageCdn/Distribution"}},
                "origin": [{"domain_name": "b"}],
                "comment": "images",
                "lifecycle": {"ignore_changes": ["origin"]},
            }
        },
    }
}


def change(address, actions, before, after, **extra):
    tf_type = address.split(".")[0]
    return {
        "address": address,
        "type": tf_type,
        "mode": "managed",
        "change": {"actions": actions, "before": before, "after": after, **extra},
    }


TABLE = "aws_dynamodb_table.MetadataTable_62E6394A"
CLIENT = "aws_cognito_user_pool_client.UserAuth_Client_1"
CDN = "aws_cloudfront_distribution.ImageCdn_Distribution_1"


def plan_doc(*changes, outputs=None):
    return {"resource_changes": list(changes), "output_changes": outputs or {}}


def report_of(doc) -> review.StackReport:
    report = review.StackReport("image-service-dev")
    paths = review.construct_paths(CONFIG)
    report.changes = review.resource_changes(doc, paths)
    report.outputs = review.output_changes(doc)
    report.losses = review.find_data_loss(doc)
    return report


def test_an_update_names_the_resource_its_construct_and_each_changed_attribute():
    doc = plan_doc(
        change(
            TABLE,
            ["update"],
            {"name": "ImageMetadata-dev", "tags": None, "tags_all": {"Stage": "dev"}},
            {"name": "ImageMetadata-dev", "tags": {"Team": "images"}, "tags_all": {"x": "y"}},
        ),
        outputs={"TableName": {"actions": ["no-op"]}, "TableArn": {"actions": ["update"]}},
    )
    report = report_of(doc)
    markdown = review.render([report])
    assert "- **image-service-dev**: 0 to add, 1 to change, 0 to replace, 0 to destroy" in markdown
    assert (
        f"| update | `{TABLE}` | image-service-dev/MetadataTable/Table | "
        '`tags.Team`: (none) → "images" |'
    ) in markdown  # tags_all, the provider's merge, is left out when tags say it
    assert "Outputs: `TableArn` (update)" in markdown
    assert review.exit_code([report]) == review.EXIT_CHANGES


def test_sensitive_values_are_never_printed():
    doc = plan_doc(
        change(
            CLIENT,
            ["update"],
            {"name": "web", "client_secret": "old-secret-value"},
            {"name": "web2", "client_secret": "new-secret-value"},
            before_sensitive={"client_secret": True},
            after_sensitive={"client_secret": True},
        )
    )
    markdown = review.render([report_of(doc)])
    assert "secret-value" not in markdown
    assert "`client_secret`: (sensitive) → (sensitive)" in markdown
    assert '`name`: "web" → "web2"' in markdown


def test_unknown_values_say_known_after_apply():
    doc = plan_doc(
        change(TABLE, ["update"], {"stream_arn": "arn:1"}, {}, after_unknown={"stream_arn": True})
    )
    assert '`stream_arn`: "arn:1" → (known after apply)' in review.render([report_of(doc)])


def test_long_cells_are_folded_and_long_values_shown_from_their_difference():
    before = {f"attribute_{i}": "a" * 50 for i in range(8)}
    after = {f"attribute_{i}": "b" * 500 for i in range(8)}
    before["body"] = "x" * 400 + "OLD" + "y" * 400
    after["body"] = "x" * 400 + "NEW" + "y" * 400
    markdown = review.render([report_of(plan_doc(change(TABLE, ["update"], before, after)))])
    assert "<details><summary>9 attribute(s)</summary>" in markdown
    # Shown from shortly before the first difference, never cut before it.
    assert '"…' + "x" * changes.CONTEXT_BEFORE + "OLD" in markdown
    assert '"…' + "x" * changes.CONTEXT_BEFORE + "NEW" in markdown
    assert "x" * (changes.CONTEXT_BEFORE + 1) not in markdown


def test_a_replaced_table_is_counted_and_raised_as_the_guard_would_refuse_it():
    doc = plan_doc(
        change(TABLE, ["delete", "create"], {"hash_key": "PK"}, {"hash_key": "ImageId"}),
        change(CDN, ["create"], None, {"comment": "images"}),
    )
    report = report_of(doc)
    markdown = review.render([report])
    assert "1 to add, 0 to change, 1 to replace, 0 to destroy" in markdown
    assert "> [!CAUTION]" in markdown
    assert f"> - replace `{TABLE}` (metadata table)" in markdown
    assert f"| replace | `{TABLE}` |" in markdown and '`hash_key`: "PK" → "ImageId"' in markdown
    assert f"| create | `{CDN}` | image-service-dev/ImageCdn/Distribution |  |" in markdown
    assert review.exit_code([report]) == review.EXIT_REFUSED


def test_no_changes_and_stages_not_planned_exit_0_a_failed_plan_exits_1():
    clean = review.StackReport("image-service-dev")
    skipped = review.StackReport("image-service-staging", planned=False, reason="no credentials")
    failed = review.StackReport("image-service-production", failed=True, reason="boom")
    markdown = review.render([clean, skipped, failed])
    assert "- **image-service-dev**: no changes" in markdown
    assert "- **image-service-staging**: not planned: no credentials" in markdown
    assert "- **image-service-production**: plan failed: boom" in markdown
    assert review.exit_code([clean, skipped]) == review.EXIT_CLEAN
    assert review.exit_code([clean, skipped, failed]) == review.EXIT_FAILED


def drift_doc(*drifts):
    return {"resource_drift": list(drifts)}


def test_drift_names_configured_attributes_that_really_changed():
    doc = drift_doc(
        change(
            TABLE,
            ["update"],
            {"point_in_time_recovery": [{"enabled": False}], "tags": None, "arn": "a"},
            {"point_in_time_recovery": [{"enabled": True}], "tags": {"Owner": "x"}, "arn": "b"},
        ),
        # What a refresh reports without anything changed: emptiness and set order; and an
        # attribute the configuration tells Terraform to ignore.
        change(
            CDN,
            ["update"],
            {"comment": "images", "aliases": None, "origin": [{"domain_name": "b"}]},
            {"comment": "images", "aliases": [], "origin": [{"domain_name": "c"}]},
        ),
    )
    changes = review.drifted_resources(doc, CONFIG)
    assert [(c.address, [a.name for a in c.attributes]) for c in changes] == [
        (TABLE, ["point_in_time_recovery[0].enabled", "tags.Owner"])  # not the computed arn
    ]
    report = review.StackReport("image-service-dev", changes=changes)
    markdown = review.render([report], drift=True)
    assert "- **image-service-dev**: 1 resource(s) differ from the last apply" in markdown
    assert "`point_in_time_recovery[0].enabled`: false → true" in markdown
    assert review.exit_code([report], drift=True) == review.EXIT_CHANGES


def test_a_resource_deleted_by_hand_is_drift():
    doc = drift_doc(change(TABLE, ["delete"], {"name": "ImageMetadata-dev"}, None))
    [deleted] = review.drifted_resources(doc, CONFIG)
    assert (deleted.action, deleted.address) == ("deleted outside Terraform", TABLE)


@pytest.mark.parametrize(
    "values",
    [(None, []), (None, {}), ("", None), (False, None), (["a", "b"], ["b", "a"])],
)
def test_canonical_treats_emptiness_and_set_order_as_equal(values):
    before, after = values
    assert review.canonical(before) == review.canonical(after)


def test_an_interrupt_stops_the_report_instead_of_failing_one_stage(tmp_path, monkeypatch):
    """Ctrl-C during a stage's plan is the whole command's exit 130, not 'plan failed'."""
    from stacks.errors import Interrupted, ToolchainError

    stack_dir = tmp_path / "image-service-local"
    stack_dir.mkdir()
    (stack_dir / "cdk.tf.json").write_text("{}")
    endpoint = {LOCAL_ENDPOINT_ENV: "http://127.0.0.1:5050"}
    [stack] = resolve(["image-service-local"])

    def interrupted(*args, **kwargs):
        raise Interrupted("terraform plan in image-service-local")

    monkeypatch.setattr(review, "plan_document", interrupted)
    with pytest.raises(Interrupted):
        review.report_for(stack, stack_dir, endpoint, drift=True)

    def failed(*args, **kwargs):
        raise ToolchainError("terraform plan failed in image-service-local:\nError: boom")

    monkeypatch.setattr(review, "plan_document", failed)
    report = review.report_for(stack, stack_dir, endpoint, drift=True)
    assert (report.failed, report.reason) == (
        True,
        "terraform plan failed in image-service-local: Error: boom",
    )


def test_an_alarm_change_reads_as_its_threshold_and_periods():
    """Issue 27: a retuned alarm shows what a reviewer needs, the threshold and periods, each
    before and after, and nothing of what stayed."""
    alarm = "aws_cloudwatch_metric_alarm.Monitoring_Alarm-api-latency_053BFE77"
    common = {"alarm_name": "image-service-production-api-latency", "metric_name": "Latency"}
    doc = plan_doc(
        change(
            alarm,
            ["update"],
            {**common, "threshold": 2000, "evaluation_periods": 5, "datapoints_to_alarm": 5},
            {**common, "threshold": 1500, "evaluation_periods": 3, "datapoints_to_alarm": 3},
        )
    )
    markdown = review.render([report_of(doc)])
    row = next(line for line in markdown.splitlines() if alarm in line)
    assert row.startswith(f"| update | `{alarm}` |")
    for shown in (
        "`threshold`: 2000 → 1500",
        "`evaluation_periods`: 5 → 3",
        "`datapoints_to_alarm`: 5 → 3",
    ):
        assert shown in row
    assert "alarm_name" not in row and "Latency" not in row


@pytest.mark.parametrize("stage", ["dev", "staging", "production"])
def test_a_review_or_drift_plan_reads_the_parent_zone_through_the_dns_reader(stage):
    """Issue 35: the review role may assume only the DNS account's reader, so its plans set the
    stage's delegation role variable to it (the deploy keeps the default: the stage's writer)."""
    from stacks.settings.stages import DNS_ACCOUNT_ID

    [stack] = [s for s in resolve([f"image-service-{stage}"]) if s.kind == "stage"]
    assert review.read_only_env(stack) == {
        "TF_VAR_dns_delegation_role_arn": (
            f"arn:aws:iam::{DNS_ACCOUNT_ID}:role/image-service-dns-read"
        )
    }


@pytest.mark.parametrize(
    "stack",
    ["image-service-local-production", "image-service-pr-7", "image-service-state-111111111111"],
)
def test_a_stack_with_no_delegation_role_plans_with_nothing_set(stack):
    [found] = resolve([stack])
    assert review.read_only_env(found) == {}


# ---- every changed value visible (issue 38) ------------------------------------------------------
API = "aws_apigatewayv2_api.ImageApi_Api_1"
STAGE = "aws_apigatewayv2_stage.ImageApi_Stage_1"
POLICY = "aws_iam_role_policy.GetImage_Policy_1"


def _texts(doc) -> list[str]:
    return [a.text() for c in report_of(doc).changes for a in c.attributes]


def _cors(origins):
    return {
        "cors_configuration": [
            {
                "allow_credentials": False,
                "allow_headers": ["authorization", "content-type"],
                "allow_methods": ["DELETE", "GET", "OPTIONS", "POST", "PUT"],
                "allow_origins": origins,
                "max_age": 3600,
            }
        ]
    }


def test_a_nested_list_shows_the_value_added_and_not_its_siblings():
    doc = plan_doc(
        change(
            API,
            ["update"],
            _cors(["http://localhost:3000"]),
            _cors(["http://localhost:3000", "https://beta.lego-moc.com"]),
        )
    )
    assert _texts(doc) == ['`cors_configuration[0].allow_origins`: + "https://beta.lego-moc.com"']


def test_a_nested_number_shows_its_path_and_both_values():
    def stage(rate, burst):
        return {
            "default_route_settings": [
                {"throttling_burst_limit": burst, "throttling_rate_limit": rate}
            ],
            "name": "$default",
        }

    doc = plan_doc(change(STAGE, ["update"], stage(50, 100), stage(80, 160)))
    assert _texts(doc) == [
        "`default_route_settings[0].throttling_burst_limit`: 100 → 160",
        "`default_route_settings[0].throttling_rate_limit`: 50 → 80",
    ]


def _policy(statements):
    import json

    return {"policy": json.dumps({"Version": "2012-10-17", "Statement": statements})}


def test_a_policy_document_is_shown_statement_by_statement():
    read = {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:b/*"}
    wider = {**read, "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:b/*"]}
    tls = {
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    tls_changed = {**tls, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    scan = {"Sid": "Scan", "Effect": "Allow", "Action": "dynamodb:Scan", "Resource": "arn:t"}
    doc = plan_doc(
        change(POLICY, ["update"], _policy([read, tls]), _policy([wider, tls_changed, scan]))
    )
    assert _texts(doc) == [
        '`policy.Statement[Read].Action`: + "s3:PutObject"',
        '`policy.Statement[0].Condition.Bool.aws:SecureTransport`: "false" → "true"',
        "`policy.Statement[Scan]`: + "
        '{"Action": "dynamodb:Scan", "Effect": "Allow", "Resource": "arn:t", "Sid": "Scan"}',
    ]


def test_a_sensitive_leaf_is_masked_inside_a_block():
    doc = plan_doc(
        change(
            CLIENT,
            ["update"],
            {"settings": [{"password": "old-pass", "port": 6379}]},
            {"settings": [{"password": "new-pass", "port": 6380}]},
            before_sensitive={"settings": [{"password": True}]},
            after_sensitive={"settings": [{"password": True}]},
        )
    )
    assert _texts(doc) == [
        "`settings[0].password`: (sensitive) → (sensitive)",
        "`settings[0].port`: 6379 → 6380",
    ]


def test_only_a_reordered_set_says_so():
    doc = plan_doc(change(API, ["update"], _cors(["a", "b"]), _cors(["b", "a"])))
    assert _texts(doc) == ['`cors_configuration[0].allow_origins (order)`: ["a", "b"] → ["b", "a"]']


def test_the_review_shows_the_stages_monthly_cost_before_and_after():
    alarm = "aws_cloudwatch_metric_alarm.Monitoring_Alarm-new_1"
    table = {"name": "ImageMetadata-dev", "point_in_time_recovery": [{"enabled": False}]}
    doc = plan_doc(
        change(TABLE, ["no-op"], table, table),
        change(alarm, ["create"], None, {"alarm_name": "image-service-dev-new"}),
    )
    report = report_of(doc)
    report.cost = review.cost_change("image-service-dev", "dev", CONFIG, doc)
    before, after = report.cost
    assert round(after.total - before.total, 2) == 0.10
    markdown = review.render([report])
    assert f"**Cost of image-service-dev**: ${before.total:.2f} → ${after.total:.2f} a month " in (
        markdown
    )
    assert "(+$0.10; no budget)" in markdown
    assert f"| `{alarm}` | $0.00 | $0.10 | +$0.10 |" in markdown


def test_a_cost_that_cannot_be_estimated_is_said_and_the_review_goes_on(tmp_path, monkeypatch):
    """A node type the price table lacks: the plan is still reviewed, the cost line says why."""
    cache = "aws_elasticache_replication_group.Cache_1"
    group = {"engine": "valkey", "node_type": "cache.x9.huge", "num_cache_clusters": 2}
    doc = plan_doc(change(cache, ["update"], {**group, "node_type": "cache.t4g.micro"}, group))
    stack_dir = tmp_path / "image-service-local"
    stack_dir.mkdir()
    (stack_dir / "cdk.tf.json").write_text('{"resource": {}}')
    [stack] = resolve(["image-service-local"])
    monkeypatch.setattr(review, "plan_document", lambda *args, **kwargs: doc)
    report = review.report_for(
        stack, stack_dir, {LOCAL_ENDPOINT_ENV: "http://127.0.0.1:5050"}, drift=False
    )
    assert report.cost is None and not report.failed
    markdown = review.render([report])
    assert '`node_type`: "cache.t4g.micro" → "cache.x9.huge"' in markdown
    assert (
        "**Cost of image-service-local**: not estimated: the price table has no price "
        "elasticache.valkey.cache.x9.huge in us-east-1" in markdown
    )
