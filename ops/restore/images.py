"""`restore images`: the stage's image bucket as it was at a point in time, from its versions.

For each key (under --prefix), the version that was current at that time is brought back: where
only delete markers were added since, they are removed (the old version is current again, no
copy); where the object was overwritten since, that version is copied back on top. Objects
created since are left alone unless --include-created (they then get a delete marker: their
versions stay, so this too can be undone).

A journal in .run/restore/ lists each key done as soon as it is done, so the same command run
again after Ctrl-C skips them: a copied-back version is a new version, which a fresh comparison
could not tell from the one it copies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ops.restore.pace import (
    Pace,
    Progress,
    samples,
    stop_between_writes,
    what_happens_to_created,
)
from ops.restore.target import RestoreError, Target
from ops.toolchain import ROOT
from stacks.errors import Interrupted

JOURNALS = ROOT / ".run" / "restore"


@dataclass(frozen=True)
class ImagesRestore:
    point: datetime
    prefix: str = ""
    apply: bool = False
    include_created: bool = False
    rate: float | None = 50.0


@dataclass(frozen=True)
class Entry:
    """One version or delete marker of a key."""

    key: str
    version_id: str
    marker: bool
    modified: datetime
    etag: str = ""


@dataclass(frozen=True)
class Action:
    key: str
    #: "undelete" (remove the markers added since), "revert" (copy the old version back),
    #: "remove" (a delete marker on an object created since).
    kind: str
    version_id: str = ""
    markers: tuple[str, ...] = ()


@dataclass
class ImagesResult:
    bucket: str
    actions: list[Action]
    created: list[str]
    done: list[Action] = field(default_factory=list)


def restore_images(
    target: Target, how: ImagesRestore, say: Callable[[str], None] = print
) -> ImagesResult:
    s3 = target.client("s3")
    bucket = target.settings.bucket.name
    _check_restorable(s3, bucket, how, target)
    actions, created = plan(_entries(s3, bucket, how.prefix), how.point)
    if how.include_created:
        actions += [Action(key, "remove") for key in created]
    result = ImagesResult(bucket, actions, created)
    say(describe(result, how))
    if how.apply:
        apply(s3, bucket, how, result)
    return result


def _check_restorable(s3: Any, bucket: str, how: ImagesRestore, target: Target) -> None:
    from botocore.exceptions import ClientError

    try:
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    except ClientError as exc:
        raise RestoreError(
            f"the bucket {bucket} of stage {target.stage} cannot be read "
            f"({exc.response.get('Error', {}).get('Code')})",
            "deploy the stage first (`bin/cdktf deploy`, or `make up` for the local stage)",
        ) from None
    if status != "Enabled":
        raise RestoreError(
            f"the bucket {bucket} keeps no versions (stage {target.stage}: bucket.versioning "
            "is off), so what was deleted or overwritten there cannot be brought back",
            "only a versioned bucket can be restored (staging and production keep versions "
            "for bucket.noncurrent_version_expiration_days); turn versioning on for the stage "
            "to restore from now on",
        )
    days = target.settings.bucket.noncurrent_version_expiration_days
    if how.point < datetime.now(UTC) - timedelta(days=days):
        raise RestoreError(
            f"{how.point.isoformat()} is more than {days} days ago: the bucket's old versions "
            "expire after that (bucket.noncurrent_version_expiration_days)",
            f"give a time within the last {days} days",
        )


def _entries(s3: Any, bucket: str, prefix: str) -> Iterator[Entry]:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            yield Entry(
                version["Key"],
                version["VersionId"],
                False,
                version["LastModified"],
                version.get("ETag", ""),
            )
        for marker in page.get("DeleteMarkers", []):
            yield Entry(marker["Key"], marker["VersionId"], True, marker["LastModified"])


def plan(entries: Iterator[Entry], point: datetime) -> tuple[list[Action], list[str]]:
    """What brings each key back to its state at `point`, and the keys created since."""
    by_key: dict[str, list[Entry]] = {}
    for entry in entries:
        by_key.setdefault(entry.key, []).append(entry)
    actions, created = [], []
    for key, history in sorted(by_key.items()):
        history.sort(key=lambda e: e.modified, reverse=True)  # newest first
        before = [e for e in history if e.modified <= point]
        since = [e for e in history if e.modified > point]
        then = before[0] if before else None
        if not since:
            continue  # as it was
        if then is None or then.marker:
            if not since[0].marker:
                created.append(key)
            continue
        if all(e.marker for e in since):
            actions.append(
                Action(key, "undelete", then.version_id, tuple(e.version_id for e in since))
            )
        else:
            actions.append(Action(key, "revert", then.version_id))
    return actions, created


def describe(result: ImagesResult, how: ImagesRestore) -> str:
    undelete = [a.key for a in result.actions if a.kind == "undelete"]
    revert = [a.key for a in result.actions if a.kind == "revert"]
    verb = "brings back" if how.apply else "would bring back"
    created = what_happens_to_created(how.apply, how.include_created)
    return (
        f"  {verb} {len(undelete) + len(revert)} images: {len(undelete)} deleted since"
        f"{samples(undelete)}, {len(revert)} overwritten since{samples(revert)}; {created} "
        f"{len(result.created)} created since{samples(result.created)}"
    )


def journal_path(bucket: str, how: ImagesRestore) -> Path:
    point = f"{bucket}|{how.point.isoformat()}|{how.prefix}|{how.include_created}"
    return JOURNALS / f"images-{bucket}-{hashlib.sha256(point.encode()).hexdigest()[:10]}.jsonl"


def apply(s3: Any, bucket: str, how: ImagesRestore, result: ImagesResult) -> None:
    journal = journal_path(bucket, how)
    done = _journalled(journal)
    todo = [a for a in result.actions if a.key not in done]
    progress, pace = Progress("restore images", len(todo)), Pace(how.rate)
    journal.parent.mkdir(parents=True, exist_ok=True)
    with stop_between_writes() as stop, journal.open("a") as log:
        for action in todo:
            if stop.requested:
                break
            pace.wait()
            _carry_out(s3, bucket, action)
            log.write(json.dumps({"key": action.key, "kind": action.kind}) + "\n")
            log.flush()
            result.done.append(action)
            progress.step()
        progress.close()
    if stop.requested:
        raise Interrupted(
            f"restore images stopped after {progress.done} of {len(todo)} objects (journal "
            f"{journal})",
            "run the same command again to resume: it skips what the journal lists",
        )
    journal.unlink(missing_ok=True)


def _journalled(journal: Path) -> set[str]:
    if not journal.is_file():
        return set()
    return {json.loads(line)["key"] for line in journal.read_text().splitlines() if line.strip()}


def _carry_out(s3: Any, bucket: str, action: Action) -> None:
    if action.kind == "undelete":
        for marker in action.markers:
            s3.delete_object(Bucket=bucket, Key=action.key, VersionId=marker)
    elif action.kind == "revert":
        s3.copy_object(
            Bucket=bucket,
            Key=action.key,
            CopySource={"Bucket": bucket, "Key": action.key, "VersionId": action.version_id},
        )
    else:
        s3.delete_object(Bucket=bucket, Key=action.key)
