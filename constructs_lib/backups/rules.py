"""The organisation's rule for backups: every vault is locked (AWS Backup Vault Lock), so no
role of the account can delete a recovery point before its minimum retention."""

from __future__ import annotations

from collections.abc import Iterator

from constructs_lib.stack_json import Config, RuleContext, Rules, Violation, refers_to, resources

BACKUP_VAULT_LOCKED = "backup-vault-locked"


def _check_vaults(config: Config) -> Iterator[Violation]:
    locks = list(resources(config, "aws_backup_vault_lock_configuration"))
    for vault in resources(config, "aws_backup_vault"):
        mine = [
            lock
            for lock in locks
            if refers_to(lock.body.get("backup_vault_name"), vault, ("name", "id"))
            or lock.body.get("backup_vault_name") == vault.body.get("name")
        ]
        if not any(lock.body.get("min_retention_days") for lock in mine):
            yield vault.violation(
                BACKUP_VAULT_LOCKED,
                "has no vault lock with a minimum retention, so its recovery points can be "
                "deleted by any role allowed to",
                "lock it with an aws_backup_vault_lock_configuration (Backups does)",
            )


def _check(config: Config, context: RuleContext) -> Iterator[Violation]:
    yield from _check_vaults(config)


RULES = Rules((BACKUP_VAULT_LOCKED,), _check)
