"""The restore drill and the restore commands on the session's production-shaped deployment
(image-service-local-production, marked emulator): `python -m ops.drill` as `make drill` runs
it on the local stage, and each restore interrupted with Ctrl-C and run again, which resumes
and writes nothing twice. Each works under keys of its own run, so the deployment's other users
are not disturbed; production's shape is the one whose data matters (point-in-time recovery,
versions, backups), and its deployment is not the one the browser and gateway tests write to
at the same time."""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from tests.session import ROOT
from tests.wait import wait_until

pytestmark = pytest.mark.emulator

STAGE = "local-production"
TABLE, BUCKET = f"ImageMetadata-{STAGE}", f"images-lego-moc-{STAGE}"


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def _client(deployment, service: str):
    from ops import local_aws

    return local_aws.client(service, deployment.endpoint, region="us-east-1")


def test_the_drill_restores_exactly_what_it_destroyed(production):
    result = subprocess.run(
        _command("ops.drill", "--stage", STAGE, "--endpoint", production.endpoint),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == [
        "seed",
        "backup",
        "accident",
        "dry",
        "restore",
        "verify",
        "cleanup",
    ]
    assert all(" ok " in line for line in lines[1:-1])
    assert lines[-1] == "drill: every step passed"


def _interrupted_then_resumed(command: list[str], progressed) -> tuple[str, str]:
    """`command` stopped with Ctrl-C once `progressed()` holds, then run again to the end: the
    two runs' outputs."""
    first = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_until(lambda: progressed() or first.poll() is not None, "the restore under way")
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 130, out + err
    assert "Traceback" not in err
    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert second.returncode == 0, second.stdout + second.stderr
    return err, second.stdout


def test_an_interrupted_table_restore_resumes_and_writes_no_item_twice(production):
    dynamodb, prefix = _client(production, "dynamodb"), f"IMAGE#resume-{secrets.token_hex(4)}-"
    keys = [{"PK": {"S": f"{prefix}{n:04d}"}, "SK": {"S": "METADATA"}} for n in range(300)]
    for key in keys:
        dynamodb.put_item(TableName=TABLE, Item={**key, "title": {"S": "kept"}})
    arn = dynamodb.create_backup(TableName=TABLE, BackupName="resume")["BackupDetails"]["BackupArn"]
    for key in keys:
        dynamodb.delete_item(TableName=TABLE, Key=key)

    def back() -> int:
        request = {
            "TableName": TABLE,
            "FilterExpression": "begins_with(PK, :p)",
            "ExpressionAttributeValues": {":p": {"S": prefix}},
            "Select": "COUNT",
        }
        return int(dynamodb.scan(**request)["Count"])

    command = _command(
        "ops.restore",
        "table",
        STAGE,
        "--backup",
        arn,
        "--key-prefix",
        prefix,
        "--apply",
        "--rate",
        "100",
        "--endpoint",
        production.endpoint,
    )
    try:
        stopped, finished = _interrupted_then_resumed(command, lambda: back() >= 30)
        first = int(stopped.split("stopped after ")[1].split(" of 300 writes")[0])
        second = int(finished.split("wrote back ")[1].split(" items")[0])
        assert 30 <= first < 300 and first + second == 300
        assert back() == 300
    finally:
        for key in keys:
            dynamodb.delete_item(TableName=TABLE, Key=key)
        dynamodb.delete_backup(BackupArn=arn)


def test_an_interrupted_images_restore_resumes_and_copies_no_image_twice(production):
    s3, prefix = _client(production, "s3"), f"resume/{secrets.token_hex(4)}/"
    keys = [f"{prefix}{n:03d}.png" for n in range(60)]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"original " + key.encode())
    point = _next_second()
    _next_second()
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"broken")

    def versions() -> dict[str, int]:
        listed = s3.list_object_versions(Bucket=BUCKET, Prefix=prefix).get("Versions", [])
        found: dict[str, int] = {}
        for v in listed:
            found[v["Key"]] = found.get(v["Key"], 0) + 1
        return found

    command = _command(
        "ops.restore",
        "images",
        STAGE,
        "--to",
        point.isoformat(),
        "--prefix",
        prefix,
        "--apply",
        "--rate",
        "20",
        "--endpoint",
        production.endpoint,
    )
    try:
        stopped, finished = _interrupted_then_resumed(
            command, lambda: sum(versions().values()) >= 2 * 60 + 10
        )
        first = int(stopped.split("stopped after ")[1].split(" of 60 objects")[0])
        second = int(finished.split("restore images: ")[1].split(" objects")[0])
        assert 10 <= first < 60 and first + second == 60
        # Each key: the original, the broken one, and one copy of the original back on top.
        assert versions() == {key: 3 for key in keys}
        assert all(
            s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"original " + key.encode()
            for key in keys
        )
    finally:
        listed = s3.list_object_versions(Bucket=BUCKET, Prefix=prefix)
        for v in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]:
            s3.delete_object(Bucket=BUCKET, Key=v["Key"], VersionId=v["VersionId"])


def _next_second() -> datetime:
    """The next whole second once the clock has passed it (S3 keeps times to the second)."""
    after = datetime.now(UTC).replace(microsecond=0)
    wait_until(lambda: datetime.now(UTC).replace(microsecond=0) > after, "the next second")
    return datetime.now(UTC).replace(microsecond=0)


def test_the_restore_is_recorded_as_the_on_call_engineers_not_a_deploy_roles(production):
    """The restore runs with an on-call engineer's credentials (docs/recovery.md): its calls are
    recorded as the restore's, so the deploy role's record (test_production_deploy) holds only
    what Terraform and the CI's commands call."""
    from ops.action_log import calls
    from tests.deploy.shared import calls_record, deployments_dir

    prefix = f"recorded/{secrets.token_hex(4)}/"
    result = subprocess.run(
        _command(
            "ops.restore",
            "images",
            STAGE,
            "--to",
            _next_second().isoformat(),
            "--prefix",
            prefix,
            "--endpoint",
            production.endpoint,
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    record = calls_record(deployments_dir(), STAGE)
    restore = {(c.service, c.operation) for c in calls(record) if c.caller == "restore"}
    assert {("s3", "GetBucketVersioning"), ("s3", "ListObjectVersions")} <= restore


@pytest.mark.parametrize("after", ["seed", "accident"])
def test_an_interrupted_drill_removes_what_it_made_and_exits_130(production, after):
    """Ctrl-C once a step has printed: no traceback, exit 130, and nothing of the run left in
    the table, the bucket or the backups."""
    dynamodb, s3 = _client(production, "dynamodb"), _client(production, "s3")
    drill = subprocess.Popen(
        _command("ops.drill", "--stage", STAGE, "--endpoint", production.endpoint),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert drill.stdout is not None
    lines = [drill.stdout.readline() for _ in range(2)]  # the title and the seed step
    run = lines[0].split("(run ")[1].rstrip(")\n")
    if after == "accident":
        lines += [drill.stdout.readline(), drill.stdout.readline()]
    assert lines[-1].split()[0] == after, lines
    drill.send_signal(signal.SIGINT)
    out, err = drill.communicate(timeout=120)
    assert drill.returncode == 130, out + err
    assert "Traceback" not in err
    assert err.startswith("error: the drill stopped during its ") and "make drill" in err
    assert "cleanup   ok" in out
    items = dynamodb.scan(
        TableName=TABLE,
        FilterExpression="begins_with(PK, :p)",
        ExpressionAttributeValues={":p": {"S": f"IMAGE#drill-{run}-"}},
        Select="COUNT",
    )
    assert items["Count"] == 0
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix=f"drill/{run}/")
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")
    backups = dynamodb.list_backups(TableName=TABLE)["BackupSummaries"]
    assert [b for b in backups if b["BackupName"] == f"drill-{run}"] == []
