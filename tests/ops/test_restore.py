"""The restore commands' decisions and refusals (ops/restore/), without an emulator: what brings
each image back, the requests a point-in-time or recovery-point restore sends (botocore's
Stubber holds the exact parameters; moto's point-in-time restore ignores the time), and every
bad input refused in one paragraph with exit 2. The restores themselves run on the emulator in
tests/deploy/test_drill.py."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from ops.restore.images import Entry, ImagesRestore, plan, restore_images
from ops.restore.table import TableRestore, _from_recovery_point, _to_point_in_time
from ops.restore.target import RestoreError, Target, parse_time
from stacks.settings import emulator_stage_settings
from tests.session import ROOT

T = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _at(minutes: int) -> datetime:
    return T + timedelta(minutes=minutes)


def _stubbed(service: str):
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


def _target(**clients) -> Target:
    settings = emulator_stage_settings("local", endpoint="http://127.0.0.1:1")
    return Target(settings, lambda service: clients[service])


def test_each_image_is_brought_back_by_the_least_that_restores_it():
    entries = [
        # deleted since: only a delete marker was added -> the marker is removed
        Entry("gone.png", "v1", False, _at(-10)),
        Entry("gone.png", "m1", True, _at(5)),
        # overwritten since -> the old version is copied back
        Entry("broken.png", "v1", False, _at(-10)),
        Entry("broken.png", "v2", False, _at(5)),
        # overwritten, then deleted -> copied back (a marker alone would leave v2 current)
        Entry("both.png", "v1", False, _at(-10)),
        Entry("both.png", "v2", False, _at(3)),
        Entry("both.png", "m1", True, _at(6)),
        # created since -> left alone, named
        Entry("new.png", "v1", False, _at(2)),
        # created and deleted since -> nothing to do
        Entry("brief.png", "v1", False, _at(2)),
        Entry("brief.png", "m1", True, _at(4)),
        # untouched since
        Entry("same.png", "v1", False, _at(-30)),
    ]
    actions, created = plan(iter(entries), T)
    assert [(a.key, a.kind, a.version_id, a.markers) for a in actions] == [
        ("both.png", "revert", "v1", ()),
        ("broken.png", "revert", "v1", ()),
        ("gone.png", "undelete", "v1", ("m1",)),
    ]
    assert created == ["new.png"]


def test_a_point_in_time_is_an_iso_time_with_its_zone_and_not_in_the_future():
    assert parse_time("2026-12-07T09:00:00Z", now=_at(1)) == T
    assert parse_time("2026-12-07T10:00:00+01:00", now=_at(1)) == T
    for text, problem in (
        ("2026-12-07T09:00:00", "is not a point in time with its zone"),
        ("yesterday", "is not a point in time with its zone"),
        ("2026-12-07T09:05:00Z", "is in the future"),
    ):
        with pytest.raises(RestoreError, match=problem):
            parse_time(text, now=_at(1))


def test_a_point_in_time_restore_asks_dynamodb_for_exactly_that_time():
    dynamodb, stub = _stubbed("dynamodb")
    stub.add_response(
        "describe_continuous_backups",
        {
            "ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {
                    "PointInTimeRecoveryStatus": "ENABLED",
                    "EarliestRestorableDateTime": _at(-60 * 24),
                },
            }
        },
        {"TableName": "ImageMetadata-production"},
    )
    stub.add_response(
        "restore_table_to_point_in_time",
        {},
        {
            "SourceTableName": "ImageMetadata-production",
            "TargetTableName": "ImageMetadata-production-restore-x",
            "RestoreDateTime": T,
        },
    )
    _to_point_in_time(
        dynamodb, "ImageMetadata-production", "ImageMetadata-production-restore-x", T, "production"
    )
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    "recovery,problem",
    [
        ({"PointInTimeRecoveryStatus": "DISABLED"}, "point-in-time recovery is off for"),
        (
            {"PointInTimeRecoveryStatus": "ENABLED", "EarliestRestorableDateTime": _at(10)},
            "is before the earliest time",
        ),
    ],
)
def test_a_time_the_table_cannot_be_restored_to_is_refused(recovery, problem):
    dynamodb, stub = _stubbed("dynamodb")
    stub.add_response(
        "describe_continuous_backups",
        {
            "ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": recovery,
            }
        },
    )
    with pytest.raises(RestoreError, match=problem) as refused:
        _to_point_in_time(dynamodb, "ImageMetadata-dev", "tmp", T, "dev")
    assert refused.value.exit_code == 2 and refused.value.fix


def test_a_recovery_point_is_restored_by_aws_backup_with_the_accounts_backup_role():
    backup, stub = _stubbed("backup")
    arn = "arn:aws:backup:us-west-2:123456789012:recovery-point:4a1b-2c3d"
    stub.add_response(
        "start_restore_job",
        {"RestoreJobId": "job-1"},
        {
            "RecoveryPointArn": arn,
            "IamRoleArn": "arn:aws:iam::123456789012:role/image-service-backup",
            "ResourceType": "DynamoDB",
            "Metadata": {"targetTableName": "ImageMetadata-local-restore-x"},
        },
    )
    _from_recovery_point(_target(backup=backup), "ImageMetadata-local-restore-x", arn)
    stub.assert_no_pending_responses()


def test_images_of_a_bucket_without_versions_cannot_be_restored():
    s3, stub = _stubbed("s3")
    stub.add_response("get_bucket_versioning", {}, {"Bucket": "images-lego-moc-local"})
    with pytest.raises(RestoreError, match="keeps no versions") as refused:
        restore_images(_target(s3=s3), ImagesRestore(T), say=lambda line: None)
    assert "bucket.versioning" in refused.value.problem


def test_images_older_than_the_kept_versions_cannot_be_restored():
    s3, stub = _stubbed("s3")
    stub.add_response("get_bucket_versioning", {"Status": "Enabled"})
    long_ago = datetime.now(UTC) - timedelta(days=31)
    with pytest.raises(RestoreError, match="more than 30 days ago"):
        restore_images(_target(s3=s3), ImagesRestore(long_ago), say=lambda line: None)


def test_the_temporary_table_is_named_by_the_table_and_the_point():
    from ops.restore.table import temporary_name

    first = temporary_name("ImageMetadata-dev", TableRestore(point=T))
    assert first == temporary_name("ImageMetadata-dev", TableRestore(point=T, apply=True))
    assert first != temporary_name("ImageMetadata-dev", TableRestore(point=_at(1)))
    assert first.startswith("ImageMetadata-dev-restore-") and len(first) <= 255


@pytest.mark.parametrize(
    "args,problem",
    [
        (["table", "nowhere", "--to", "2026-12-07T09:00:00Z"], "'nowhere' is not a known stage"),
        (["images", "local", "--to", "tomorrow"], "is not a point in time with its zone"),
        (["table", "local", "--to", "2026-12-07T09:00:00Z", "--rate", "0"], "is not a rate"),
        (
            ["table", "local", "--backup", "arn:x", "--endpoint", "http://127.0.0.1:9"],
            "AWS refused or could not be reached",
        ),
        (["table", "dev", "--to", "2026-12-07T09:00:00Z"], "still uses the project's placeholders"),
    ],
    ids=["unknown-stage", "bad-time", "bad-rate", "emulator-unreachable", "placeholders"],
)
def test_bad_input_is_one_paragraph_and_exit_2(args, problem):
    result = subprocess.run(
        [sys.executable, "-m", "ops.restore", *args], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr
    assert problem in result.stderr and "Fix:" in result.stderr
    assert "Traceback" not in result.stderr
