"""The plan guard on plans in `terraform show -json` form: what it refuses, what it lets through,
and the named override. (On the emulator it is also run against real plans: tests/deploy.)"""

from __future__ import annotations

import json

import pytest

from ops.plan_guard import (
    EXIT_REFUSED,
    LockInfo,
    StateLocked,
    find_data_loss,
    main,
    parse_ui_stream,
    prevent_destroy_losses,
    refusal,
)
from ops.toolchain import ROOT
from ops.workdir import untracked_resources


def change(address: str, actions: list[str], mode: str = "managed") -> dict:
    tf_type = address.split(".")[-2]
    return {"address": address, "mode": mode, "type": tf_type, "change": {"actions": actions}}


TABLE = "aws_dynamodb_table.MetadataTable_62E6394A"
BUCKET = "aws_s3_bucket.ImageBucket_EBEB496F"
POOL = "aws_cognito_user_pool.UserAuth_UserPool_DC3198B1"
STATE_BUCKET = "aws_s3_bucket.StateBucket"
CLIENT = "aws_cognito_user_pool_client.UserAuth_WebClient_1"
CDN = "aws_cloudfront_distribution.ImageCdn_Distribution_CDE87156"
API = "aws_apigatewayv2_api.ImageApi_6B36478C"
ZONE = "aws_route53_zone.HostedZone_B13B16E8"
TOPIC = "aws_sns_topic.Monitoring_AlarmsTopic_157871D9"
CACHE = "aws_elasticache_replication_group.Cache_ReplicationGroup_BFE59FF3"
CACHE_SUBNETS = "aws_elasticache_subnet_group.Cache_SubnetGroup_355C216D"
VPC = "aws_vpc.Network_Vpc_FAC8F4A5"

# (case id, resource changes, expected (address, action) refusals)
CASES = [
    ("table-replaced", [change(TABLE, ["delete", "create"])], [(TABLE, "replace")]),
    ("table-replaced-create-first", [change(TABLE, ["create", "delete"])], [(TABLE, "replace")]),
    ("bucket-deleted", [change(BUCKET, ["delete"])], [(BUCKET, "delete")]),
    ("user-pool-deleted", [change(POOL, ["delete"])], [(POOL, "delete")]),
    ("state-bucket-deleted", [change(STATE_BUCKET, ["delete"])], [(STATE_BUCKET, "delete")]),
    ("table-updated-in-place", [change(TABLE, ["update"])], []),
    ("everything-created", [change(TABLE, ["create"]), change(BUCKET, ["create"])], []),
    ("no-op", [change(TABLE, ["no-op"])], []),
    (
        "stateless-resource-replaced",
        [change("aws_apigatewayv2_integration.ImageApi_Integration", ["delete", "create"])],
        [],
    ),
    # Identity-bearing: replacing them breaks clients (new id or domain name).
    ("app-client-replaced", [change(CLIENT, ["delete", "create"])], [(CLIENT, "replace")]),
    ("distribution-replaced", [change(CDN, ["create", "delete"])], [(CDN, "replace")]),
    ("api-replaced", [change(API, ["delete", "create"])], [(API, "replace")]),
    # A new zone gets new name servers; resolvers keep the delegated ones for two days.
    ("zone-replaced", [change(ZONE, ["delete", "create"])], [(ZONE, "replace")]),
    ("zone-deleted-with-the-stack", [change(ZONE, ["delete"])], []),
    # A new topic has no subscriptions: the on-call confirms them again.
    ("alarm-topic-replaced", [change(TOPIC, ["delete", "create"])], [(TOPIC, "replace")]),
    ("app-client-updated-in-place", [change(CLIENT, ["update"])], []),
    # An outage: the handlers lose the cache, and a new one starts empty.
    ("cache-replaced", [change(CACHE, ["delete", "create"])], [(CACHE, "replace")]),
    (
        "cache-subnet-group-replaced",
        [change(CACHE_SUBNETS, ["create", "delete"])],
        [(CACHE_SUBNETS, "replace")],
    ),
    ("vpc-replaced", [change(VPC, ["delete", "create"])], [(VPC, "replace")]),
    ("cache-resized-in-place", [change(CACHE, ["update"])], []),
    ("cache-deleted-with-the-stack", [change(CACHE, ["delete"]), change(VPC, ["delete"])], []),
    # Deleted with the whole stack (a destroy): nothing is left to hold their identity.
    ("distribution-deleted", [change(CDN, ["delete"])], []),
    ("api-route-deleted", [change("aws_apigatewayv2_route.ImageApi_Route", ["delete"])], []),
    ("data-source-read", [change("data.aws_iam_policy_document.Doc", ["read"], mode="data")], []),
]


@pytest.mark.parametrize("changes,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_what_the_guard_refuses(changes, expected):
    losses = find_data_loss({"resource_changes": changes})
    assert [(loss.address, loss.action) for loss in losses] == expected


def test_an_identity_loss_is_refused_in_its_own_words():
    losses = find_data_loss(
        {"resource_changes": [change(CLIENT, ["delete", "create"]), change(TABLE, ["delete"])]}
    )
    assert [(loss.address, loss.category) for loss in losses] == [
        (CLIENT, "identity"),
        (TABLE, "data"),
    ]
    text = refusal("image-service-dev", losses)
    assert text.splitlines()[0] == (
        "plan guard: refusing the plan for image-service-dev: it would lose data in 1 stateful "
        "resource(s) and break the clients of 1 resource(s) by replacing them:"
    )
    assert (
        f"  - replace {CLIENT} (app client: every issued token and every frontend's configured "
        "client id would stop working)"
    ) in text
    assert "tokens already issued, and every app configured with the old one" in text


def test_an_outage_is_refused_in_its_own_words():
    losses = find_data_loss({"resource_changes": [change(CACHE, ["delete", "create"])]})
    assert [(loss.address, loss.category) for loss in losses] == [(CACHE, "outage")]
    text = refusal("image-service-production", losses)
    assert text.splitlines()[0] == (
        "plan guard: refusing the plan for image-service-production: it would take the "
        "service's cache or network down by replacing 1 resource(s):"
    )
    assert f"  - replace {CACHE} (cache: every handler's connections drop" in text
    assert "if the outage is planned (in a quiet hour), re-run with --allow-data-loss" in text
    assert "tokens already issued" not in text and "a dev table" not in text


def test_an_outage_is_accepted_when_named(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"resource_changes": [change(VPC, ["delete", "create"])]}))
    assert main(["--plan-json", str(plan)]) == EXIT_REFUSED
    assert main(["--plan-json", str(plan), "--allow-data-loss", VPC]) == 0


def test_an_identity_loss_is_accepted_when_named(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"resource_changes": [change(CLIENT, ["delete", "create"])]}))
    assert main(["--plan-json", str(plan)]) == EXIT_REFUSED
    assert main(["--plan-json", str(plan), "--allow-data-loss", CLIENT]) == 0


@pytest.fixture
def replace_plan(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(
        json.dumps(
            {"resource_changes": [change(TABLE, ["delete", "create"]), change(BUCKET, ["update"])]}
        )
    )
    return path


def test_the_command_refuses_naming_resource_and_action(replace_plan, capsys):
    assert main(["--plan-json", str(replace_plan)]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert f"replace {TABLE} (metadata table)" in err
    assert "--allow-data-loss" in err and BUCKET not in err


def test_the_named_override_lets_exactly_that_resource_through(replace_plan, capsys):
    assert main(["--plan-json", str(replace_plan), "--allow-data-loss", TABLE]) == 0
    assert "no stateful resource is deleted or replaced" in capsys.readouterr().out
    assert main(["--plan-json", str(replace_plan), "--allow-data-loss", BUCKET]) == EXIT_REFUSED


TERRAFORM_PREVENT_DESTROY = f"""
Error: Instance cannot be destroyed

  on cdk.tf.json line 484, in resource.aws_dynamodb_table:
 484:       "MetadataTable_62E6394A": {{

Resource {TABLE} has
lifecycle.prevent_destroy set, but the plan calls for this resource to be
destroyed.
"""


def test_a_plan_terraform_refuses_for_prevent_destroy_is_reported_as_such():
    losses = prevent_destroy_losses(TERRAFORM_PREVENT_DESTROY)
    assert [(loss.address, loss.action, loss.prevent_destroy) for loss in losses] == [
        (TABLE, "delete", True)
    ]
    message = refusal("image-service-production", losses)
    assert "--allow-data-loss cannot override that" in message
    assert prevent_destroy_losses("Error: Invalid reference") == []


def test_the_json_ui_stream_gives_the_same_changes_as_show_json():
    # `terraform plan -json` lines (Terraform's documented machine-readable UI), as the guard
    # reads them instead of running `terraform show -json` on the saved plan.
    def planned(addr: str, action: str) -> str:
        tf_type = addr.split(".")[-2]
        return json.dumps(
            {
                "@level": "info",
                "type": "planned_change",
                "change": {"resource": {"addr": addr, "resource_type": tf_type}, "action": action},
            }
        )

    stream = "\n".join(
        [
            json.dumps({"@level": "info", "type": "version", "terraform": "1.11.4"}),
            planned(TABLE, "replace"),
            planned(BUCKET, "update"),
            planned(POOL, "delete"),
            planned("data.aws_iam_policy_document.Doc", "read"),
            json.dumps(
                {
                    "@level": "info",
                    "type": "change_summary",
                    "changes": {"add": 1, "change": 1, "remove": 2},
                }
            ),
            "not json: ignored",
        ]
    )
    changes, errors = parse_ui_stream(stream)
    assert errors == []
    assert [(c["address"], c["mode"], c["change"]["actions"]) for c in changes] == [
        (TABLE, "managed", ["delete", "create"]),
        (BUCKET, "managed", ["update"]),
        (POOL, "managed", ["delete"]),
        ("data.aws_iam_policy_document.Doc", "data", ["read"]),
    ]
    assert [
        (loss.address, loss.action) for loss in find_data_loss({"resource_changes": changes})
    ] == [
        (TABLE, "replace"),
        (POOL, "delete"),
    ]


def test_error_diagnostics_in_the_stream_name_prevent_destroy():
    stream = json.dumps(
        {
            "@level": "error",
            "type": "diagnostic",
            "diagnostic": {
                "severity": "error",
                "summary": "Instance cannot be destroyed",
                "detail": f"Resource {TABLE} has lifecycle.prevent_destroy set, but the plan "
                "calls for this resource to be destroyed.",
            },
        }
    )
    _, errors = parse_ui_stream(stream)
    assert [e["summary"] for e in errors] == ["Instance cannot be destroyed"]
    assert [loss.address for loss in prevent_destroy_losses(errors[0]["detail"])] == [TABLE]


def test_a_tainted_replacement_is_named_as_such():
    stream = json.dumps(
        {
            "type": "planned_change",
            "change": {
                "resource": {"addr": TABLE, "resource_type": "aws_dynamodb_table"},
                "action": "replace",
                "reason": "tainted",
            },
        }
    )
    changes, _ = parse_ui_stream(stream)
    [loss] = find_data_loss({"resource_changes": changes})
    assert (loss.address, loss.action, loss.tainted) == (TABLE, "replace", True)
    text = refusal("image-service-dev", [loss])
    assert f"replace {TABLE} (metadata table) [tainted]" in text
    assert "interrupted or failed apply" in text and "--allow-data-loss" in text


def test_a_lock_error_is_read_for_its_holder():
    output = """Error: Error acquiring the state lock
Lock Info:
  ID:        2b8b1f3c-1e0e-4b43-9a3c-5c8f5b0c7d11
  Path:      image-service-tfstate-local/image-service/local/terraform.tfstate
  Operation: OperationTypeApply
  Who:       dev@laptop
  Version:   1.11.4
  Created:   2026-11-28 08:00:00.1 +0000 UTC
  Info:
"""
    lock = LockInfo.parse(output)
    assert lock == LockInfo(
        "2b8b1f3c-1e0e-4b43-9a3c-5c8f5b0c7d11",
        "apply",
        "dev@laptop",
        "2026-11-28 08:00:00.1 +0000 UTC",
    )
    assert LockInfo.parse("Error: something else") is None
    message = str(StateLocked(ROOT / "cdktf.out" / "stacks" / "image-service-dev", lock, []))
    assert "terraform force-unlock 2b8b1f3c-1e0e-4b43-9a3c-5c8f5b0c7d11" in message
    assert "cd cdktf.out/stacks/image-service-dev" in message


def test_resources_an_interrupted_apply_lost_track_of_are_named():
    output = (
        "Error: creating AWS DynamoDB Table (ImageMetadata-local): operation error "
        "DynamoDB: CreateTable, https response error StatusCode: 400, RequestID: x,\n"
        "ResourceInUseException: Table already exists: ImageMetadata-local\n"
        "Error: creating S3 Bucket (images-lego-moc-local): operation error S3: "
        "CreateBucket, BucketAlreadyOwnedByYou: Your previous request succeeded\n"
        "Error: creating Cognito User Pool (x): InvalidParameter: bad value\n"
    )
    assert untracked_resources(output) == [
        "AWS DynamoDB Table (ImageMetadata-local)",
        "S3 Bucket (images-lego-moc-local)",
    ]
