"""A restore drill on the local stack: lose data as a bad release would, restore it with the
project's own restore commands, and check that exactly what was lost is back.

    python -m ops.drill [--stage STAGE] [--endpoint URL] [--items N] [--images N]
                                                                    (`make drill`: the local stage)

Steps, one line each:
  seed      N image items (the story's data model) and M images, under this run's own keys
  backup    an on-demand backup of the table; the time the images were as seeded
  accident  what a bad handler release does: some items overwritten, some deleted, some
            created; some images overwritten, some deleted, some created
  dry run   `restore table --backup ARN` and `restore images --to TIME`, as dry runs: each
            must name exactly what the accident lost, and change nothing
  restore   both again with --apply
  verify    every seeded item and image is as it was; what the accident created is untouched;
            the restores wrote nothing but what was lost
  cleanup   everything this run created is deleted again (items, images and their versions,
            the backup), also after a failed step or Ctrl-C

The emulator cannot prove everything (docs/recovery.md): moto's point-in-time restore copies the
table as it is now, so the drill restores the table from a backup taken before the accident, as
AWS Backup's recovery points are used; a restore to a point in time is the same command with
--to TIME.

Exit codes: 0 every step passed; 1 a step failed (the message names it); 2 nothing to drill: the
emulator is not running or the stack is not deployed (run `make up`); 130 interrupted (Ctrl-C),
after the clean-up.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ops import processes
from ops.restore.images import ImagesRestore, journal_path, restore_images
from ops.restore.table import TableRestore, key_of, restore_table, temporary_name
from ops.restore.target import Target, target
from stacks.errors import ImageServiceError, Interrupted, report

EXIT_FAILED = 1
KEYS = ("PK", "SK")


class DrillFailed(Exception):
    """A check did not hold; the message says what was expected and what was found."""


@dataclass
class Drill:
    target: Target
    items: int = 300
    images: int = 30
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))
    #: What the table and the bucket hold before the accident, by key.
    seeded_items: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    seeded_images: dict[str, bytes] = field(default_factory=dict)
    backup_arn: str = ""
    point: datetime | None = None
    lost_items: set[tuple[str, ...]] = field(default_factory=set)
    lost_images: set[str] = field(default_factory=set)
    created_items: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    created_images: dict[str, bytes] = field(default_factory=dict)
    quiet: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dynamodb = self.target.client("dynamodb")
        self.s3 = self.target.client("s3")
        self.table = self.target.settings.table.name
        self.bucket = self.target.settings.bucket.name

    @property
    def key_prefix(self) -> str:
        return f"IMAGE#drill-{self.run_id}-"

    @property
    def image_prefix(self) -> str:
        return f"drill/{self.run_id}/"

    def item(self, n: int, version: str) -> dict[str, Any]:
        return {
            "PK": {"S": f"{self.key_prefix}{n:04d}"},
            "SK": {"S": "METADATA"},
            "GSI1PK": {"S": f"USER#drill-{self.run_id}"},
            "GSI1SK": {"S": f"UPLOADED#2026-12-07T10:{n % 60:02d}:00Z"},
            "title": {"S": f"MOC {n} ({version})"},
            "size": {"N": str(1000 + n)},
        }

    def image(self, n: int, version: str) -> bytes:
        return f"PNG drill {self.run_id} image {n} {version}".encode()

    def image_key(self, n: int) -> str:
        return f"{self.image_prefix}{n:03d}.png"

    # ---- steps --------------------------------------------------------------------------------
    def seed(self) -> str:
        for n in range(self.items):
            item = self.item(n, "original")
            self.dynamodb.put_item(TableName=self.table, Item=item)
            self.seeded_items[key_of(item, KEYS)] = item
        for n in range(self.images):
            body = self.image(n, "original")
            self.s3.put_object(Bucket=self.bucket, Key=self.image_key(n), Body=body)
            self.seeded_images[self.image_key(n)] = body
        return (
            f"{self.items} items under {self.key_prefix} in {self.table}, {self.images} images "
            f"under {self.image_prefix} in {self.bucket}"
        )

    def backup(self) -> str:
        answer = self.dynamodb.create_backup(
            TableName=self.table, BackupName=f"drill-{self.run_id}"
        )
        self.backup_arn = answer["BackupDetails"]["BackupArn"]
        # S3 keeps LastModified to the second: the point is the next whole second after the
        # seeding, and the accident starts the second after it.
        self.point = _next_second()
        _next_second()
        when = self.point.isoformat(timespec="seconds")
        return f"backup {self.backup_arn}; images as seeded at {when}"

    def accident(self) -> str:
        overwritten, deleted = range(0, self.items // 8), range(self.items // 8, self.items // 5)
        for n in overwritten:
            self.dynamodb.put_item(TableName=self.table, Item=self.item(n, "broken"))
        for n in deleted:
            self.dynamodb.delete_item(TableName=self.table, Key=_key(self.item(n, "original")))
        self.lost_items = {key_of(self.item(n, "x"), KEYS) for n in [*overwritten, *deleted]}
        for n in range(self.items, self.items + self.items // 30):
            item = self.item(n, "new since")
            self.dynamodb.put_item(TableName=self.table, Item=item)
            self.created_items[key_of(item, KEYS)] = item
        broken, gone = range(0, self.images // 5), range(self.images // 5, self.images // 2)
        for n in broken:
            self.s3.put_object(
                Bucket=self.bucket, Key=self.image_key(n), Body=self.image(n, "broken")
            )
        for n in gone:
            self.s3.delete_object(Bucket=self.bucket, Key=self.image_key(n))
        self.lost_images = {self.image_key(n) for n in [*broken, *gone]}
        for n in range(self.images, self.images + self.images // 8):
            body = self.image(n, "new since")
            self.s3.put_object(Bucket=self.bucket, Key=self.image_key(n), Body=body)
            self.created_images[self.image_key(n)] = body
        return (
            f"{len(overwritten)} items overwritten, {len(deleted)} deleted, "
            f"{len(self.created_items)} created; {len(broken)} images overwritten, {len(gone)} "
            f"deleted, {len(self.created_images)} created"
        )

    def dry_run(self) -> str:
        table, images = self._restore(apply=False)
        expect(
            set(table.diff.deleted) | set(table.diff.changed) == self.lost_items,
            f"restore table would write back {len(table.diff.deleted) + len(table.diff.changed)} "
            f"items, not the {len(self.lost_items)} lost",
        )
        expect(
            set(table.diff.created) == set(self.created_items),
            "restore table misses what was created",
        )
        expect(
            {a.key for a in images.actions} == self.lost_images,
            "restore images would not bring back exactly what was lost",
        )
        expect(
            set(images.created) == set(self.created_images),
            "restore images misses what was created",
        )
        expect(self._current_items() != self.seeded_items, "a dry run changed the table")
        return (
            f"restore table would write back {len(self.lost_items)} items and leave "
            f"{len(self.created_items)} created alone; restore images would bring back "
            f"{len(self.lost_images)} and leave {len(self.created_images)} alone; nothing written"
        )

    def restore(self) -> str:
        table, images = self._restore(apply=True)
        expect(
            set(table.written) == self.lost_items,
            f"restore table wrote {len(table.written)} items, not the {len(self.lost_items)} lost",
        )
        expect(
            {a.key for a in images.done} == self.lost_images,
            "restore images did not bring back exactly what was lost",
        )
        return f"{len(table.written)} items written back, {len(images.done)} images brought back"

    def verify(self) -> str:
        current = self._current_items()
        expect(
            current == {**self.seeded_items, **self.created_items},
            _differences(current, {**self.seeded_items, **self.created_items}),
        )
        for key, body in {**self.seeded_images, **self.created_images}.items():
            found = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            expect(found == body, f"{key} holds {found[:40]!r}, not {body[:40]!r}")
        return (
            f"all {len(self.seeded_items)} items and {len(self.seeded_images)} images as seeded; "
            f"the {len(self.created_items)} items and {len(self.created_images)} images created "
            "since untouched; nothing else written"
        )

    def cleanup(self) -> str:
        """Everything the run made, whatever step it reached: the items under its key prefix,
        every version under its image prefix, its backup, and what an interrupted restore
        keeps for its resumption (the restored copy, the images' journal)."""
        for key in self._current_items():
            self.dynamodb.delete_item(TableName=self.table, Key=_key(self._any_item(key)))
        versions = self.s3.list_object_versions(Bucket=self.bucket, Prefix=self.image_prefix)
        for entry in [*versions.get("Versions", []), *versions.get("DeleteMarkers", [])]:
            self.s3.delete_object(
                Bucket=self.bucket, Key=entry["Key"], VersionId=entry["VersionId"]
            )
        if self.backup_arn:
            with contextlib.suppress(self.dynamodb.exceptions.ResourceNotFoundException):
                self.dynamodb.delete_table(
                    TableName=temporary_name(self.table, self._table_restore(apply=False))
                )
            self.dynamodb.delete_backup(BackupArn=self.backup_arn)
        if self.point is not None:
            journal_path(self.bucket, self._images_restore(apply=True)).unlink(missing_ok=True)
        return "the run's items, images (every version) and backup deleted"

    # ---- helpers ------------------------------------------------------------------------------
    def _table_restore(self, apply: bool) -> TableRestore:
        return TableRestore(
            backup=self.backup_arn, apply=apply, key_prefix=self.key_prefix, rate=None
        )

    def _images_restore(self, apply: bool) -> ImagesRestore:
        assert self.point is not None
        return ImagesRestore(self.point, self.image_prefix, apply=apply, rate=None)

    def _restore(self, apply: bool) -> tuple[Any, Any]:
        table = restore_table(self.target, self._table_restore(apply), say=self.quiet.append)
        images = restore_images(self.target, self._images_restore(apply), say=self.quiet.append)
        return table, images

    def _current_items(self) -> dict[tuple[str, ...], dict[str, Any]]:
        found: dict[tuple[str, ...], dict[str, Any]] = {}
        request: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "begins_with(PK, :p)",
            "ExpressionAttributeValues": {":p": {"S": self.key_prefix}},
        }
        while True:
            page = self.dynamodb.scan(**request)
            found.update({key_of(i, KEYS): i for i in page.get("Items", [])})
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _any_item(self, key: tuple[str, ...]) -> dict[str, Any]:
        return {name: json.loads(value) for name, value in zip(KEYS, key, strict=True)}


def _next_second() -> datetime:
    """The next whole second, once the clock has passed it."""
    after = datetime.now(UTC).replace(microsecond=0)
    processes.wait_until(lambda: datetime.now(UTC).replace(microsecond=0) > after, 2.0, 0.01)
    return datetime.now(UTC).replace(microsecond=0)


def _key(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in KEYS}


def _differences(found: dict[Any, Any], wanted: dict[Any, Any]) -> str:
    missing = [k for k in wanted if k not in found]
    extra = [k for k in found if k not in wanted]
    wrong = [k for k in wanted if k in found and found[k] != wanted[k]]
    return (
        f"the table differs: {len(missing)} items missing, {len(extra)} extra, "
        f"{len(wrong)} different"
    )


def expect(condition: bool, problem: str) -> None:
    if not condition:
        raise DrillFailed(problem)


STEPS: tuple[tuple[str, Callable[[Drill], str]], ...] = (
    ("seed", Drill.seed),
    ("backup", Drill.backup),
    ("accident", Drill.accident),
    ("dry run", Drill.dry_run),
    ("restore", Drill.restore),
    ("verify", Drill.verify),
)


def run(drill: Drill) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    print(f"restore drill on {drill.target.settings.stack_name} (run {drill.run_id})", flush=True)
    failed = interrupted = ""
    for name, step in STEPS:
        try:
            print(f"  {name:9} ok      {step(drill)}", flush=True)
        except (KeyboardInterrupt, Interrupted):
            interrupted = name
            break
        except (DrillFailed, ImageServiceError, ClientError, BotoCoreError) as exc:
            failed = f"{name}: {exc}"
            print(f"  {name:9} FAILED  {exc}", flush=True)
            break
    # A second Ctrl-C waits for the clean-up (a few seconds): nothing of the run is left.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with contextlib.suppress(ClientError, BotoCoreError):
            print(f"  {'cleanup':9} ok      {drill.cleanup()}", flush=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        return report(
            Interrupted(
                f"the drill stopped during its {interrupted} step; what the run had made is "
                "removed",
                "run `make drill` again",
            )
        )
    if failed:
        print(
            f"\ndrill: step {failed}. The restore commands did not bring back exactly what was "
            "lost; run them by hand to see (python -m ops.restore --help).",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print("drill: every step passed")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.drill",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--stage",
        default="local",
        choices=("local", "local-production"),
        help="the emulator stage to drill on (default: local, what make up deploys)",
    )
    parser.add_argument("--endpoint", help="the emulator's URL (default: make up's)")
    parser.add_argument("--items", type=int, default=300, help="items seeded (default 300)")
    parser.add_argument("--images", type=int, default=30, help="images seeded (default 30)")
    args = parser.parse_args(argv)
    try:
        stage = target(args.stage, args.endpoint)
    except ImageServiceError as exc:
        return report(exc)
    return run(Drill(stage, items=max(args.items, 40), images=max(args.images, 16)))


if __name__ == "__main__":
    sys.exit(main())
