"""`restore table`: the stage's metadata table as it was at a point in time (its point-in-time
recovery) or in a backup, restored into a temporary table, compared with the live one, and
exactly the items deleted or changed since written back.

The temporary table is named from the live table and the restore point, so the same command
run again (after Ctrl-C, or after a dry run with --keep-temporary) finds it instead of restoring
again, and compares anew: what was already written back now equals the restored copy and is not
written again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ops import processes
from ops.restore.pace import (
    Pace,
    Progress,
    samples,
    stop_between_writes,
    what_happens_to_created,
)
from ops.restore.target import RestoreError, Target
from stacks.errors import Interrupted

Key = tuple[str, ...]
Item = dict[str, Any]
# How long a restore into the temporary table may take before the command gives up waiting (AWS:
# "restore times vary with the table's size", typically under an hour for tables of a few GB;
# the table stays, and the same command run later picks it up).
RESTORE_WAIT_SECONDS = 3 * 3600


@dataclass(frozen=True)
class TableRestore:
    """What to restore: `point` (a time) or `backup` (an ARN), and how."""

    point: datetime | None = None
    backup: str | None = None
    apply: bool = False
    include_created: bool = False
    key_prefix: str | None = None
    keep_temporary: bool = False
    segments: int = 4
    rate: float | None = 200.0


@dataclass
class TableDiff:
    """The keys whose items differ between the restored copy and the live table."""

    deleted: list[Key] = field(default_factory=list)
    changed: list[Key] = field(default_factory=list)
    created: list[Key] = field(default_factory=list)


@dataclass
class TableResult:
    table: str
    temporary: str
    diff: TableDiff
    written: list[Key] = field(default_factory=list)
    removed: list[Key] = field(default_factory=list)
    #: Items recreated by someone else while the restore ran: left as they are.
    skipped: list[Key] = field(default_factory=list)
    kept_temporary: bool = False


def restore_table(
    target: Target, how: TableRestore, say: Callable[[str], None] = print
) -> TableResult:
    """Dry run or apply `how` on the target stage's table; every line of the report to `say`."""
    dynamodb = target.client("dynamodb")
    live = target.settings.table.name
    keys = _key_names(dynamodb, live, target.stage)
    temporary = temporary_name(live, how)
    _restore_into(target, dynamodb, live, temporary, how, say)
    diff = compare(dynamodb, live, temporary, keys, how)
    result = TableResult(live, temporary, diff)
    say(describe(diff, keys, how))
    if how.apply:
        write_back(dynamodb, temporary, live, keys, how, result)
    if how.keep_temporary:
        result.kept_temporary = True
        say(f"  the restored copy {temporary} is kept (--keep-temporary); delete it when done")
    else:
        dynamodb.delete_table(TableName=temporary)
    return result


def temporary_name(live: str, how: TableRestore) -> str:
    point = how.backup or (how.point.isoformat() if how.point else "")
    return f"{live}-restore-{hashlib.sha256(f'{live}|{point}'.encode()).hexdigest()[:10]}"


def _key_names(dynamodb: Any, table: str, stage: str) -> Key:
    from botocore.exceptions import ClientError

    try:
        schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
    except ClientError as exc:
        raise RestoreError(
            f"the table {table} of stage {stage} cannot be read ({_code(exc)})",
            "deploy the stage first (`bin/cdktf deploy`, or `make up` for the local stage)",
        ) from None
    return tuple(k["AttributeName"] for k in sorted(schema, key=lambda k: k["KeyType"]))


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", exc))


def _restore_into(
    target: Target,
    dynamodb: Any,
    live: str,
    temporary: str,
    how: TableRestore,
    say: Callable[[str], None],
) -> None:
    """The restored copy in `temporary`: found from an earlier run, or restored now."""
    from botocore.exceptions import ClientError

    try:
        status = dynamodb.describe_table(TableName=temporary)["Table"]["TableStatus"]
        say(f"  using the restored copy {temporary} an earlier run left ({status})")
    except ClientError:
        if how.backup:
            _from_backup(target, dynamodb, temporary, how.backup)
        else:
            assert how.point is not None
            _to_point_in_time(dynamodb, live, temporary, how.point, target.stage)
        say(f"  restoring {live} into {temporary} ...")
    if not processes.wait_until(
        lambda: dynamodb.describe_table(TableName=temporary)["Table"]["TableStatus"] == "ACTIVE",
        RESTORE_WAIT_SECONDS,
        interval=5.0 if target.settings.emulator is None else 0.05,
    ):
        raise RestoreError(
            f"{temporary} was not restored within {RESTORE_WAIT_SECONDS // 3600} h",
            "run the same command again later: it picks the restored table up when it is ready",
        )


def _to_point_in_time(
    dynamodb: Any, live: str, temporary: str, point: datetime, stage: str
) -> None:
    from botocore.exceptions import ClientError

    described = dynamodb.describe_continuous_backups(TableName=live)["ContinuousBackupsDescription"]
    recovery = described.get("PointInTimeRecoveryDescription", {})
    if recovery.get("PointInTimeRecoveryStatus") != "ENABLED":
        raise RestoreError(
            f"point-in-time recovery is off for {live} (stage {stage}: "
            "table.point_in_time_recovery), so it cannot be restored to a time",
            f"restore from a backup instead: --backup ARN (`aws dynamodb list-backups "
            f"--table-name {live}` lists them)",
        )
    earliest = recovery.get("EarliestRestorableDateTime")
    if isinstance(earliest, datetime) and point < earliest.astimezone(UTC):
        raise RestoreError(
            f"{point.isoformat()} is before the earliest time {live} can be restored to "
            f"({earliest.astimezone(UTC).isoformat()}; point-in-time recovery keeps 35 days "
            "at most, from when it was turned on)",
            "give a later time, or restore from an older backup with --backup ARN",
        )
    try:
        dynamodb.restore_table_to_point_in_time(
            SourceTableName=live, TargetTableName=temporary, RestoreDateTime=point
        )
    except ClientError as exc:
        raise RestoreError(
            f"DynamoDB refused to restore {live} to {point.isoformat()} ({_code(exc)}: "
            f"{exc.response.get('Error', {}).get('Message', '')})",
            "give a time inside the restorable window (the latest is about 5 minutes ago)",
        ) from None


def _from_backup(target: Target, dynamodb: Any, temporary: str, arn: str) -> None:
    from botocore.exceptions import ClientError

    try:
        if ":backup:" in arn.split("/")[0] and ":recovery-point:" in arn:
            _from_recovery_point(target, temporary, arn)
        else:
            dynamodb.restore_table_from_backup(TargetTableName=temporary, BackupArn=arn)
    except ClientError as exc:
        raise RestoreError(
            f"the backup {arn} cannot be restored ({_code(exc)})",
            "give the ARN of one of the table's backups (`aws dynamodb list-backups`) or of a "
            "recovery point in the stage's backup vault",
        ) from None


def _from_recovery_point(target: Target, temporary: str, arn: str) -> None:
    """An AWS Backup recovery point (the stage's vault, or its copy): AWS Backup restores it
    into a new table with the account's backup role (its docs, "Restoring a DynamoDB table")."""
    from constructs_lib.backups.props import BACKUP_ROLE

    backup = target.client("backup")
    account = target.settings.account.account_id
    backup.start_restore_job(
        RecoveryPointArn=arn,
        IamRoleArn=f"arn:aws:iam::{account}:role/{BACKUP_ROLE}",
        ResourceType="DynamoDB",
        Metadata={"targetTableName": temporary},
    )


def _scan(dynamodb: Any, table: str, keys: Key, how: TableRestore) -> dict[Key, str]:
    """Every item's key and digest, read by `how.segments` parallel scans."""

    def segment(number: int) -> dict[Key, str]:
        found: dict[Key, str] = {}
        request: dict[str, Any] = {
            "TableName": table,
            "Segment": number,
            "TotalSegments": how.segments,
            "ConsistentRead": True,
        }
        if how.key_prefix:
            request["FilterExpression"] = "begins_with(#k, :p)"
            request["ExpressionAttributeNames"] = {"#k": keys[0]}
            request["ExpressionAttributeValues"] = {":p": {"S": how.key_prefix}}
        for page in _pages(dynamodb, request):
            for item in page:
                found[key_of(item, keys)] = digest(item)
        return found

    with ThreadPoolExecutor(max_workers=how.segments) as pool:
        merged: dict[Key, str] = {}
        for part in pool.map(segment, range(how.segments)):
            merged.update(part)
    return merged


def _pages(dynamodb: Any, request: dict[str, Any]) -> Iterator[list[Item]]:
    while True:
        page = dynamodb.scan(**request)
        yield page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}


def key_of(item: Item, keys: Key) -> Key:
    """An item's key: each key attribute's value as DynamoDB writes it, in JSON (any type)."""
    return tuple(json.dumps(item[name], sort_keys=True) for name in keys if name in item)


def shown(key: Key, keys: Key) -> str:
    """`PK=IMAGE#42 SK=METADATA`."""
    values = (next(iter(json.loads(v).values())) for v in key)
    return " ".join(f"{n}={v}" for n, v in zip(keys, values, strict=False))


def digest(item: Item) -> str:
    return hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()


def compare(dynamodb: Any, live: str, temporary: str, keys: Key, how: TableRestore) -> TableDiff:
    restored, current = _scan(dynamodb, temporary, keys, how), _scan(dynamodb, live, keys, how)
    return TableDiff(
        deleted=sorted(k for k in restored if k not in current),
        changed=sorted(k for k in restored if k in current and current[k] != restored[k]),
        created=sorted(k for k in current if k not in restored),
    )


def describe(diff: TableDiff, keys: Key, how: TableRestore) -> str:
    def sample(found: list[Key]) -> str:
        return samples(found, lambda k: shown(k, keys))

    verb = "writes back" if how.apply else "would write back"
    created = what_happens_to_created(how.apply, how.include_created)
    return (
        f"  {verb} {len(diff.deleted) + len(diff.changed)} items: {len(diff.deleted)} deleted "
        f"since{sample(diff.deleted)}, {len(diff.changed)} changed since{sample(diff.changed)}; "
        f"{created} {len(diff.created)} created since{sample(diff.created)}"
    )


def write_back(
    dynamodb: Any, temporary: str, live: str, keys: Key, how: TableRestore, result: TableResult
) -> None:
    """The restored items over the live ones (a deleted one only while it is still absent), and
    with --include-created the items created since removed; one write at a time, paced."""
    diff = result.diff
    todo = len(diff.deleted) + len(diff.changed) + (len(diff.created) if how.include_created else 0)
    progress, pace = Progress("restore table", todo), Pace(how.rate)
    deleted = set(diff.deleted)
    with stop_between_writes() as stop:
        for batch in _restored_items(dynamodb, temporary, keys, [*diff.deleted, *diff.changed]):
            if stop.requested:
                break
            for item in batch:
                if stop.requested:
                    break
                pace.wait()
                key = key_of(item, keys)
                _put(dynamodb, live, keys, item, key in deleted, result, key)
                progress.step()
        for key in diff.created if how.include_created else []:
            if stop.requested:
                break
            pace.wait()
            dynamodb.delete_item(TableName=live, Key=_key_item(key, keys))
            result.removed.append(key)
            progress.step()
        progress.close()
        if stop.requested:
            raise Interrupted(
                f"restore table stopped after {progress.done} of {todo} writes; the restored "
                f"copy {temporary} is kept",
                "run the same command again to resume: it compares anew and writes only what "
                "still differs",
            )


def _put(
    dynamodb: Any,
    live: str,
    keys: Key,
    item: Item,
    was_deleted: bool,
    result: TableResult,
    key: Key,
) -> None:
    from botocore.exceptions import ClientError

    request: dict[str, Any] = {"TableName": live, "Item": item}
    if was_deleted:
        request["ConditionExpression"] = "attribute_not_exists(#k)"
        request["ExpressionAttributeNames"] = {"#k": keys[0]}
    try:
        dynamodb.put_item(**request)
        result.written.append(key)
    except ClientError as exc:
        if _code(exc) != "ConditionalCheckFailedException":
            raise
        result.skipped.append(key)


def _key_item(key: Key, keys: Key) -> Item:
    return {name: json.loads(value) for name, value in zip(keys, key, strict=True)}


def _restored_items(
    dynamodb: Any, table: str, keys: Key, wanted: list[Key]
) -> Iterator[list[Item]]:
    """The restored copy's items of `wanted`, a hundred keys a request (BatchGetItem's most)."""
    for start in range(0, len(wanted), 100):
        request = {
            table: {
                "Keys": [_key_item(k, keys) for k in wanted[start : start + 100]],
                "ConsistentRead": True,
            }
        }
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            yield answer.get("Responses", {}).get(table, [])
            request = answer.get("UnprocessedKeys") or {}
