"""MetadataTableProps: the settings of the metadata table (constructs_lib/metadata_table/)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypedDict

from constructs_lib.errors import Problem
from constructs_lib.metrics import Threshold, alarm_problems
from constructs_lib.validation import set_by_the_stack

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


@dataclass(frozen=True)
class TableAlarms:
    """The table's alarms (constructs_lib/metadata_table/alarms.py), AWS's recommended ones."""

    #: The table and each index: read or write throttles per minute, 5 of 5. Default: any.
    throttles: Threshold = Threshold(0, 5)
    #: System errors per minute, 15 of 15. Default: any.
    system_errors: Threshold = Threshold(0, 15)

    def problems(self) -> list[Problem]:
        return alarm_problems(self)


@dataclass(frozen=True)
class MetadataTableProps:
    """MetadataTable: the single-table design with UserIndex and AlbumIndex."""

    #: The table name (3-255 letters, digits, '_', '-', '.').
    name: str
    #: Restorable to any second of the last 35 days. Default: on.
    point_in_time_recovery: bool = True
    #: Production data: DynamoDB's deletion protection plus Terraform's prevent_destroy.
    #: Default: protected (turn it off only where the data may be lost).
    protect_data: bool = field(
        default=True,
        metadata=set_by_the_stack("the stage's `protect_data`"),
    )
    partition_key: str = "PK"
    sort_key: str = "SK"
    #: Its alarms' thresholds. Default: AWS's recommended ones.
    alarms: TableAlarms = TableAlarms()

    def problems(self) -> list[Problem]:
        found = [p.within("alarms") for p in self.alarms.problems()]
        if not _TABLE_NAME.match(self.name):
            found.insert(
                0,
                Problem(
                    "name",
                    f"'{self.name}' is not a valid DynamoDB table name",
                    "use 3-255 characters of letters, digits, '_', '-' and '.', e.g. "
                    "'ImageMetadata-dev'",
                ),
            )
        return found


class MetadataTableChanges(TypedDict, total=False):
    """What a stage's row may change of MetadataTableProps (stacks/settings/stages.py): every field
    but its name, which the stage gives, and what the stack sets. mypy checks the stage table
    against it."""

    point_in_time_recovery: bool
    partition_key: str
    sort_key: str
    alarms: TableAlarms
