"""The organisation's rules for tables: encrypted at rest with a KMS key the account can
audit; where data is protected, point-in-time recovery and deletion protection."""

from __future__ import annotations

from collections.abc import Iterator

from constructs_lib.stack_json import Config, RuleContext, Rules, Violation, blocks, resources

TABLE_ENCRYPTION = "table-encryption"
TABLE_POINT_IN_TIME_RECOVERY = "table-point-in-time-recovery"
TABLE_DELETION_PROTECTION = "table-deletion-protection"


def _check_tables(config: Config, protected: bool) -> Iterator[Violation]:
    for table in resources(config, "aws_dynamodb_table"):
        body = table.body
        if not any(b.get("enabled") is True for b in blocks(body.get("server_side_encryption"))):
            yield Violation(
                table.path,
                table.address,
                TABLE_ENCRYPTION,
                "does not enable server-side encryption with a KMS key the account can audit",
                "set server_side_encryption { enabled = true }",
            )
        if protected:
            if not any(
                b.get("enabled") is True for b in blocks(body.get("point_in_time_recovery"))
            ):
                yield Violation(
                    table.path,
                    table.address,
                    TABLE_POINT_IN_TIME_RECOVERY,
                    "holds production data without point-in-time recovery",
                    "set point_in_time_recovery { enabled = true }",
                )
            if body.get("deletion_protection_enabled") is not True:
                yield Violation(
                    table.path,
                    table.address,
                    TABLE_DELETION_PROTECTION,
                    "holds production data without deletion protection",
                    "set deletion_protection_enabled = true",
                )


def _check(config: Config, context: RuleContext) -> Iterator[Violation]:
    yield from _check_tables(config, context.protect_data)


RULES = Rules((TABLE_ENCRYPTION, TABLE_POINT_IN_TIME_RECOVERY, TABLE_DELETION_PROTECTION), _check)
