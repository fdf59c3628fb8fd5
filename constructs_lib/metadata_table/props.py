"""MetadataTableProps: the settings of the metadata table (constructs_lib/metadata_table/)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from constructs_lib.errors import Problem

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


@dataclass(frozen=True)
class MetadataTableProps:
    """MetadataTable: the single-table design with UserIndex and AlbumIndex."""

    #: The table name (3-255 letters, digits, '_', '-', '.').
    name: str
    #: Restorable to any second of the last 35 days. Default: on.
    point_in_time_recovery: bool = True
    #: Production data: DynamoDB's deletion protection plus Terraform's prevent_destroy.
    #: Default: protected (turn it off only where the data may be lost).
    protect_data: bool = True
    partition_key: str = "PK"
    sort_key: str = "SK"

    def problems(self) -> list[Problem]:
        if _TABLE_NAME.match(self.name):
            return []
        return [
            Problem(
                "name",
                f"'{self.name}' is not a valid DynamoDB table name",
                "use 3-255 characters of letters, digits, '_', '-' and '.', e.g. "
                "'ImageMetadata-dev'",
            )
        ]
