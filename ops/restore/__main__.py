"""python -m ops.restore table|images STAGE ... (ops/restore/__init__.py says what each does)."""

from __future__ import annotations

import argparse
import sys

from ops.restore import __doc__ as DOC
from ops.restore.images import ImagesRestore, restore_images
from ops.restore.table import TableRestore, restore_table
from ops.restore.target import RestoreError, parse_time, target
from stacks.errors import ImageServiceError, Interrupted, report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops.restore",
        description=DOC,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    table = commands.add_parser("table", help="the table's items deleted or changed since")
    table.add_argument("stage")
    point = table.add_mutually_exclusive_group(required=True)
    point.add_argument("--to", help="the point in time, e.g. 2026-12-07T09:30:00Z")
    point.add_argument("--backup", help="a DynamoDB backup's or AWS Backup recovery point's ARN")
    table.add_argument("--key-prefix", help="only items whose partition key starts so")
    table.add_argument("--keep-temporary", action="store_true", help="keep the restored copy")
    table.add_argument("--segments", type=int, default=4, help="parallel scans (default 4)")
    table.add_argument("--rate", type=float, default=200.0, help="writes a second (default 200)")
    images = commands.add_parser("images", help="the objects deleted or overwritten since")
    images.add_argument("stage")
    images.add_argument("--to", required=True, help="the point in time, e.g. 2026-12-07T09:30:00Z")
    images.add_argument("--prefix", default="", help="only keys starting so (e.g. images/)")
    images.add_argument("--rate", type=float, default=50.0, help="objects a second (default 50)")
    for sub in (table, images):
        sub.add_argument("--apply", action="store_true", help="write (default: a dry run)")
        sub.add_argument(
            "--include-created",
            action="store_true",
            help="also remove what was created since (default: left alone)",
        )
        sub.add_argument(
            "--endpoint", help="the emulator's URL (emulator stages; default make up's)"
        )
    return parser


def _check_numbers(args: argparse.Namespace) -> None:
    if args.rate <= 0:
        raise RestoreError(f"--rate {args.rate} is not a rate", "give writes a second above 0")
    if getattr(args, "segments", 1) not in range(1, 1001):
        raise RestoreError(f"--segments {args.segments} is not 1-1000", "use e.g. 4")


def run(args: argparse.Namespace) -> int:
    _check_numbers(args)
    point = parse_time(args.to) if args.to else None
    stage = target(args.stage, args.endpoint)
    mode = "applying" if args.apply else "dry run (nothing is written; --apply writes)"
    if args.command == "table":
        print(
            f"restore table {stage.settings.table.name} of {stage.stage} to "
            f"{args.backup or point}: {mode}",
            flush=True,
        )
        result = restore_table(
            stage,
            TableRestore(
                point=point,
                backup=args.backup,
                apply=args.apply,
                include_created=args.include_created,
                key_prefix=args.key_prefix,
                keep_temporary=args.keep_temporary,
                segments=args.segments,
                rate=args.rate,
            ),
        )
        if args.apply:
            print(
                f"restore table: wrote back {len(result.written)} items, removed "
                f"{len(result.removed)}; {len(result.skipped)} recreated meanwhile left as they are"
            )
        return 0
    assert point is not None  # --to is required for images
    print(
        f"restore images {stage.settings.bucket.name} of {stage.stage} to {point}: {mode}",
        flush=True,
    )
    outcome = restore_images(
        stage,
        ImagesRestore(point, args.prefix, args.apply, args.include_created, args.rate),
    )
    if args.apply:
        print(f"restore images: {len(outcome.done)} objects restored")
    return 0


def main(argv: list[str] | None = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    args = _parser().parse_args(argv)
    try:
        try:
            return run(args)
        except KeyboardInterrupt:
            raise Interrupted(
                "restore stopped before writing anything back",
                "run the same command again (a restored copy it made is picked up)",
            ) from None
        except (BotoCoreError, ClientError) as exc:
            raise RestoreError(
                f"AWS refused or could not be reached while restoring ({exc}); what was "
                "written so far stays written",
                "fix the cause AWS names, then run the same command again: it resumes",
            ) from None
    except ImageServiceError as exc:
        return report(exc)


if __name__ == "__main__":
    sys.exit(main())
