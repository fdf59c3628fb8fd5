"""The backups' deploy and review permissions, and what no deploy role may ever do to them."""

from __future__ import annotations

from constructs_lib.backups.props import BACKUP_ROLE
from constructs_lib.ci_identity.props import DeployScope
from constructs_lib.concern import Family

# What would lose a backup: no deploy role may do it, whatever else it is granted (an explicit
# deny in every deploy role; after the lock's grace AWS refuses them to everyone anyway).
NEVER = (
    "backup:DeleteBackupVault",
    "backup:DeleteBackupVaultLockConfiguration",
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
    "backup:DisassociateRecoveryPoint",
    "backup:PutBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultAccessPolicy",
)


def _vaults(s: DeployScope, a: str) -> list[str]:
    return [f"arn:aws:backup:*:{a}:backup-vault:{s.name}{suffix}" for suffix in ("", "-copy")]


FAMILIES = (
    Family(
        "BackupVaults",
        _vaults,
        read=("backup:DescribeBackupVault", "backup:ListTags"),
        write=(
            "backup:CreateBackupVault",
            "backup:PutBackupVaultLockConfiguration",
            "backup:TagResource",
            "backup:UntagResource",
        ),
        types=("aws_backup_vault", "aws_backup_vault_lock_configuration"),
        concern="backups",
        # Creating a vault mounts its storage (AWS Backup's docs, "Create a backup vault").
        write_anywhere=("backup-storage:MountCapsule",),
    ),
    # A vault's key (AWS Backup's own, aws/backup), used only through AWS Backup.
    Family(
        "BackupVaultKeys",
        lambda s, a: [f"arn:aws:kms:*:{a}:key/*"],
        read=(),
        write=(
            "kms:CreateGrant",
            "kms:GenerateDataKey",
            "kms:Decrypt",
            "kms:RetireGrant",
            "kms:DescribeKey",
        ),
        concern="backups",
        condition=lambda scopes: {"StringLike": {"kms:ViaService": "backup.*.amazonaws.com"}},
    ),
    # Plans have generated ids: the account's (one stage per account).
    Family(
        "BackupPlans",
        lambda s, a: [f"arn:aws:backup:{s.region}:{a}:backup-plan:*"],
        read=("backup:GetBackupPlan", "backup:GetBackupSelection", "backup:ListTags"),
        write=(
            "backup:CreateBackupPlan",
            "backup:UpdateBackupPlan",
            "backup:DeleteBackupPlan",
            "backup:CreateBackupSelection",
            "backup:DeleteBackupSelection",
            "backup:TagResource",
            "backup:UntagResource",
        ),
        types=("aws_backup_plan", "aws_backup_selection"),
        concern="backups",
    ),
    # A selection names the account's backup role, which only AWS Backup may be given.
    Family(
        "BackupRole",
        lambda s, a: [f"arn:aws:iam::{a}:role/{BACKUP_ROLE}"],
        read=(),
        write=("iam:PassRole",),
        concern="backups",
        condition=lambda scopes: {"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}},
    ),
)
