"""Least-privilege grants on the table and the bucket: exact actions on exact ARNs.

A grantee is anything with add_to_role_policy (the handler construct of the next epic); here one
that records what it is given, on the real dev stack's constructs."""

from __future__ import annotations

import pytest


class Recorder:
    """A grantee that keeps the statements it is given, in a policy document of its own in the
    stack, so they can be read back as Terraform receives them."""

    count = 0

    def __init__(self, stack) -> None:
        from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument

        Recorder.count += 1
        self.stack, self.statements = stack, []
        self.id = f"Grants{Recorder.count}"
        self.document = DataAwsIamPolicyDocument(stack, self.id)

    def add_to_role_policy(self, statement) -> None:
        self.statements.append(statement)
        self.document.put_statement(self.statements)

    def rendered(self) -> list[dict]:
        """The statements in the stack's Terraform JSON."""
        data = self.stack.to_terraform()["data"]["aws_iam_policy_document"]
        [document] = [d for d in data.values() if d["//"]["metadata"]["path"].endswith(self.id)]
        return document["statement"]


@pytest.fixture(scope="module")
def dev_stack():
    from cdktf import App

    from stacks.image_service_stack import ImageServiceStack
    from stacks.settings import stage_settings

    return ImageServiceStack(App(), stage_settings("dev"))


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


def test_table_read_grant_covers_the_table_and_its_indexes_only(dev_stack):
    grantee = Recorder(dev_stack)
    dev_stack.table.grant_read_data(grantee)
    [statement] = grantee.rendered()
    assert (statement["effect"], statement["actions"]) == ("Allow", READ)
    assert statement["resources"] == [TABLE_ARN, f"{TABLE_ARN}/index/*"]


def test_table_read_write_grant_adds_exactly_the_item_writes(dev_stack):
    grantee = Recorder(dev_stack)
    dev_stack.table.grant_read_write_data(grantee)
    [statement] = grantee.rendered()
    assert statement["actions"] == READ + WRITE
    assert statement["resources"] == [TABLE_ARN, f"{TABLE_ARN}/index/*"]


def test_stream_grant_names_the_stream_arn_only(dev_stack):
    grantee = Recorder(dev_stack)
    dev_stack.table.grant_stream_read(grantee)
    [statement] = grantee.rendered()
    assert statement["actions"] == [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
    ]
    assert statement["resources"] == ["${aws_dynamodb_table.MetadataTable_62E6394A.stream_arn}"]


@pytest.mark.parametrize(
    "method,action",
    [
        ("grant_read", "s3:GetObject"),
        ("grant_put", "s3:PutObject"),
        ("grant_delete", "s3:DeleteObject"),
    ],
)
def test_bucket_grants_one_action_on_the_key_pattern(dev_stack, method, action):
    grantee = Recorder(dev_stack)
    getattr(dev_stack.bucket, method)(grantee)
    getattr(dev_stack.bucket, method)(grantee, key_pattern="uploads/*")
    everything, uploads = grantee.rendered()
    assert everything["actions"] == uploads["actions"] == [action]
    assert everything["resources"] == [f"{BUCKET_ARN}/*"]
    assert uploads["resources"] == [f"{BUCKET_ARN}/uploads/*"]


def test_no_grant_uses_a_wildcard_action_or_resource(dev_stack):
    from stacks.policies import _wildcards

    grantee = Recorder(dev_stack)
    dev_stack.table.grant_read_write_data(grantee)
    dev_stack.table.grant_stream_read(grantee)
    for method in ("grant_read", "grant_put", "grant_delete"):
        getattr(dev_stack.bucket, method)(grantee)
    for statement in grantee.statements:
        assert (
            _wildcards(
                {
                    "effect": statement.effect,
                    "actions": statement.actions,
                    "resources": statement.resources,
                }
            )
            == []
        )
