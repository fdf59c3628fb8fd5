"""What the backups cost a month (constructs_lib/billing.py): each vault holds the table's
daily backups (DynamoDB backups are full copies) and the bucket's (incremental, about its
size), at the vault's region's rate; the plan's copy to the other vault crosses regions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from constructs_lib.billing import Charge, Pricer, Usage, UsageKey, blocks, free

USAGE = {
    "backups.table_copies_kept": UsageKey(35.0, "daily table backups each vault keeps"),
    "backups.copied_gb": UsageKey(40.0, "GB copied to the other region's vault a month"),
}


def _vault(_body: Mapping[str, Any], usage: Usage) -> list[Charge]:
    table_gb = usage("table.stored_gb") * usage("backups.table_copies_kept")
    return [
        Charge("backup.dynamodb-warm-gb", table_gb, "table GB × backups kept"),
        Charge("backup.s3-warm-gb", usage("bucket.stored_gb"), "the bucket's size"),
    ]


def _plan(body: Mapping[str, Any], usage: Usage) -> list[Charge]:
    copies = sum(len(blocks(rule, "copy_action")) for rule in blocks(body, "rule"))
    if not copies:
        return []
    gb = copies * usage("backups.copied_gb")
    return [Charge("backup.cross-region-transfer-gb", gb, f"{copies} copy rule(s) × usage")]


BILLING: dict[str, Pricer] = {
    "aws_backup_vault": _vault,
    "aws_backup_plan": _plan,
    **free("aws_backup_vault_lock_configuration", "aws_backup_selection"),
}
