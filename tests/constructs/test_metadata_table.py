"""MetadataTable: the SPEC's "DynamoDB table" section, one test per requirement."""

import pytest

STAGES = ("dev", "staging", "production", "local")


@pytest.mark.parametrize("name", STAGES)
def test_table_is_named_per_stage(stage, name):
    assert stage(name).one("aws_dynamodb_table")["name"] == f"ImageMetadata-{name}"


@pytest.mark.parametrize("name", STAGES)
def test_keys_billing_stream_ttl_and_encryption(stage, name):
    from cdktf import Testing

    assert Testing.to_have_resource_with_properties(
        stage(name).text,
        "aws_dynamodb_table",
        {
            "hash_key": "PK",
            "range_key": "SK",
            "billing_mode": "PAY_PER_REQUEST",
            "stream_enabled": True,
            "stream_view_type": "NEW_AND_OLD_IMAGES",
            "ttl": {"attribute_name": "ttl", "enabled": True},
            # enabled without a KMS key ARN = the AWS managed key
            "server_side_encryption": {"enabled": True},
        },
    )
    assert "kms_key_arn" not in stage(name).one("aws_dynamodb_table")["server_side_encryption"]


def test_all_key_attributes_are_strings(stage):
    attributes = stage("dev").one("aws_dynamodb_table")["attribute"]
    assert sorted((a["name"], a["type"]) for a in attributes) == sorted(
        (n, "S") for n in ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")
    )


def test_user_and_album_indexes_project_all(stage):
    indexes = {
        i["name"]: i for i in stage("dev").one("aws_dynamodb_table")["global_secondary_index"]
    }
    assert indexes == {
        "UserIndex": {
            "name": "UserIndex",
            "hash_key": "GSI1PK",
            "range_key": "GSI1SK",
            "projection_type": "ALL",
        },
        "AlbumIndex": {
            "name": "AlbumIndex",
            "hash_key": "GSI2PK",
            "range_key": "GSI2SK",
            "projection_type": "ALL",
        },
    }


@pytest.mark.parametrize(
    "name,expected", [("dev", False), ("staging", False), ("production", True), ("local", False)]
)
def test_point_in_time_recovery_only_in_production(stage, name, expected):
    table = stage(name).one("aws_dynamodb_table")
    assert table["point_in_time_recovery"] == {"enabled": expected}


@pytest.mark.parametrize(
    "name,protected", [("dev", False), ("staging", False), ("production", True), ("local", False)]
)
def test_production_table_cannot_be_destroyed(stage, name, protected):
    table = stage(name).one("aws_dynamodb_table")
    assert table["deletion_protection_enabled"] is protected
    assert table.get("lifecycle", {}).get("prevent_destroy", False) is protected


def test_changing_the_pitr_setting_changes_the_table(variant):
    from dataclasses import replace

    from stacks.settings import stage_settings

    dev = stage_settings("dev")
    table = variant("dev", table=replace(dev.table, point_in_time_recovery=True)).one(
        "aws_dynamodb_table"
    )
    assert table["point_in_time_recovery"] == {"enabled": True}


@pytest.mark.parametrize("output", ["TableName", "TableArn", "TableStreamArn"])
def test_table_outputs(stage, output):
    attr = {"TableName": "name", "TableArn": "arn", "TableStreamArn": "stream_arn"}[output]
    value = stage("dev").json["output"][output]["value"]
    assert value.startswith("${aws_dynamodb_table.") and value.endswith(f".{attr}}}")


def test_built_directly_with_a_bad_name_it_is_refused_naming_the_setting(bare_stack):
    from constructs_lib.metadata_table.construct import MetadataTable, MetadataTableProps
    from tests.constructs import refusal

    assert refusal(
        bare_stack, lambda: MetadataTable(bare_stack, "Table", MetadataTableProps(name="x"))
    ) == (
        "MetadataTable 'x': `name`: 'x' is not a valid DynamoDB table name. Fix: use 3-255 "
        "characters of letters, digits, '_', '-' and '.', e.g. 'ImageMetadata-dev'"
    )
