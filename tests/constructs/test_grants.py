"""Least-privilege grants on the table and the bucket: exact actions on exact ARNs, collected in
the grantee's one role policy.

The grantee is a real ImageHandler: CONTRIBUTING.md's "Adding a handler" block (run as written on
the dev stack, conftest.handler_stack) grants it everything once, in this order."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.handler_source import write_handler_source

READ = [
    "dynamodb:BatchGetItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
]
WRITE = [
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
]
TABLE_ARN = "${aws_dynamodb_table.MetadataTable_62E6394A.arn}"
BUCKET_ARN = "${aws_s3_bucket.ImageBucket_EBEB496F.arn}"


def role_statements(config: dict, handler_id: str) -> dict[str, dict]:
    """The statements of a handler's role policy document, by sid, as Terraform receives them."""
    [document] = [
        d
        for d in config["data"]["aws_iam_policy_document"].values()
        if d["//"]["metadata"]["path"].endswith(f"/{handler_id}/PolicyDocument")
    ]
    return {s["sid"]: s for s in document["statement"]}


@pytest.fixture(scope="module")
def granted(handler_stack) -> dict[str, dict]:
    return role_statements(handler_stack.json, "GetImage")


def test_the_role_policy_holds_the_log_statement_then_every_grant_in_order(granted):
    assert list(granted) == [
        "WriteOwnLogs",
        "ReadImageMetadata",
        "ReadWriteImageMetadata",
        "ReadImageMetadataStream",
        "ReadImages",
        "PutImages",
        "DeleteImages",
    ]
    assert {s["effect"] for s in granted.values()} == {"Allow"}


def test_table_read_grant_covers_the_table_and_its_indexes_only(granted):
    statement = granted["ReadImageMetadata"]
    assert statement["actions"] == READ
    assert statement["resources"] == [TABLE_ARN, f"{TABLE_ARN}/index/*"]


def test_table_read_write_grant_adds_exactly_the_item_writes(granted):
    statement = granted["ReadWriteImageMetadata"]
    assert statement["actions"] == READ + WRITE
    assert statement["resources"] == [TABLE_ARN, f"{TABLE_ARN}/index/*"]


def test_stream_grant_names_the_stream_arn_only(granted):
    statement = granted["ReadImageMetadataStream"]
    assert statement["actions"] == [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
    ]
    assert statement["resources"] == ["${aws_dynamodb_table.MetadataTable_62E6394A.stream_arn}"]


@pytest.mark.parametrize(
    "sid,action",
    [
        ("ReadImages", "s3:GetObject"),
        ("PutImages", "s3:PutObject"),
        ("DeleteImages", "s3:DeleteObject"),
    ],
)
def test_bucket_grants_one_action_on_the_objects(granted, sid, action):
    assert granted[sid]["actions"] == [action]
    assert granted[sid]["resources"] == [f"{BUCKET_ARN}/*"]


@pytest.fixture(scope="module")
def dev_stack():
    from cdktf import App

    from stacks.image_service_stack import ImageServiceStack
    from stacks.settings import stage_settings

    return ImageServiceStack(App(), stage_settings("dev"))


_ids = itertools.count()


@pytest.fixture
def new_handler(dev_stack, tmp_path):
    """A fresh handler on the module's dev stack: (its construct id, the handler)."""
    from constructs_lib.image_handler.construct import ImageHandler, ImageHandlerProps

    handler_id = f"Handler{next(_ids)}"
    source = write_handler_source(tmp_path / "src")
    props = ImageHandlerProps(
        name=f"grants-{handler_id}", source_dir=Path(source), handler="app.handler"
    )
    return handler_id, ImageHandler(dev_stack, handler_id, props)


def test_a_key_pattern_narrows_a_bucket_grant(dev_stack, new_handler):
    handler_id, handler = new_handler
    dev_stack.bucket.grant_put(handler, key_pattern="uploads/*")
    granted = role_statements(dev_stack.to_terraform(), handler_id)
    assert granted["PutImages"]["resources"] == [f"{BUCKET_ARN}/uploads/*"]


def test_granting_twice_numbers_the_repeated_statement_id(dev_stack, new_handler):
    """IAM wants statement ids unique within a policy."""
    handler_id, handler = new_handler
    dev_stack.bucket.grant_read(handler, key_pattern="images/*")
    dev_stack.bucket.grant_read(handler, key_pattern="thumbnails/*")
    granted = role_statements(dev_stack.to_terraform(), handler_id)
    assert list(granted) == ["WriteOwnLogs", "ReadImages", "ReadImages2"]
    assert granted["ReadImages2"]["resources"] == [f"{BUCKET_ARN}/thumbnails/*"]
    assert granted["ReadImages2"]["actions"] == ["s3:GetObject"]


def dev_policy():
    from stacks.policies import PolicyProps
    from stacks.settings import stage_settings

    return PolicyProps(protect_data=stage_settings("dev").protect_data)


def test_the_stack_with_every_grant_passes_the_organisation_policy(handler_stack):
    from stacks.policies import check_stack

    assert check_stack(handler_stack.json, dev_policy()) == []


def test_a_wildcard_given_to_a_handler_is_refused_by_the_policy(dev_stack, new_handler):
    from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
        DataAwsIamPolicyDocumentStatement,
    )

    from stacks.policies import IAM_NO_WILDCARDS, check_stack

    handler_id, handler = new_handler
    handler.add_to_role_policy(
        DataAwsIamPolicyDocumentStatement(
            sid="Everything", effect="Allow", actions=["s3:*"], resources=["*"]
        )
    )
    found = check_stack(dev_stack.to_terraform(), dev_policy())
    assert [(v.rule, v.path, v.problem) for v in found] == [
        (
            IAM_NO_WILDCARDS,
            f"image-service-dev/{handler_id}/PolicyDocument",
            "allows by wildcard (action s3:*, resource *) in statement Everything",
        )
    ]
