"""BackupsProps: the stage's backups with AWS Backup (constructs_lib/backups/): a daily backup of
the table and the image bucket into a locked vault, copied into a second locked vault the
stage's own roles cannot delete (another region by default, or another account's vault).

Vault Lock in compliance mode (AWS Backup's docs, "AWS Backup Vault Lock"): once the
`changeable_for_days` grace has passed, nobody (the account's root included) can delete the
vault, remove its lock, or delete a recovery point before `min_retention_days`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict

from constructs_lib.errors import Problem
from constructs_lib.metrics import Threshold, alarm_problems
from constructs_lib.validation import set_by_the_stack

if TYPE_CHECKING:
    from cdktf import TerraformProvider

# AWS Backup's service role, which each account's bootstrap creates for its stages' backup
# selections and restores (stacks/state_bootstrap_stack.py).
BACKUP_ROLE = "image-service-backup"
# AWS's managed policies for AWS Backup's service role (AWS Backup's docs, "Default service
# role for AWS Backup" and "Amazon S3 backup: IAM permissions"): back up and restore DynamoDB
# tables, and S3 buckets.
BACKUP_SERVICE_POLICIES = (
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
    "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
    "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
)
# A vault lock's limits (AWS Backup's API, PutBackupVaultLockConfiguration): a grace of at least 3
# days before compliance mode, retention up to 36500 days.
MIN_GRACE_DAYS = 3
MAX_RETENTION_DAYS = 36500
_SCHEDULE = re.compile(r"^(cron\(([^ )]+ ){5}[^ )]+\)|rate\(\d+ (hours|days)\))$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_VAULT_ARN = re.compile(r"^arn:aws[a-z-]*:backup:[a-z0-9-]+:\d{12}:backup-vault:[\w.-]{2,50}$")


@dataclass(frozen=True)
class BackupCopy:
    """Where each recovery point is copied, out of reach of the stage's own roles."""

    #: The copy vault's region, in the stage's account (a vault of its own, locked the same).
    #: Default: us-west-2.
    region: str = "us-west-2"
    #: Another account's vault to copy into instead (its vault policy must let this account
    #: copy in, and its lock is that account's); no copy vault is created here. Default: none.
    vault_arn: str | None = None
    #: Days a copy is kept. Default: 35.
    retention_days: int = 35


@dataclass(frozen=True)
class BackupAlarms:
    """Failed backup and copy jobs (constructs_lib/backups/alarms.py)."""

    #: Failed backup jobs of the vault, per day, 1 of 1. Default: any.
    failed_backup_jobs: Threshold = Threshold(0, 1)
    #: Failed copy jobs of the vault, per day, 1 of 1. Default: any.
    failed_copy_jobs: Threshold = Threshold(0, 1)

    def problems(self) -> list[Problem]:
        return alarm_problems(self)


@dataclass(frozen=True)
class BackupsProps:
    """Backups: the vault and its lock, the copy vault and its lock, the plan, the selection of
    the table and the bucket, and the alarms on failed jobs."""

    #: Names the vaults and the plan (the stack's name).
    name: str
    #: When the daily backup runs (AWS Backup's cron or rate). Default: 03:00 UTC every day.
    schedule: str = "cron(0 3 * * ? *)"
    #: Days a recovery point is kept. Default: 35.
    retention_days: int = 35
    #: The vault lock: no recovery point can be deleted before this many days. Default: 7.
    min_retention_days: int = 7
    #: The vault lock: no recovery point may be kept longer. Default: 365.
    max_retention_days: int = 365
    #: Days the lock can still be changed or removed before it becomes permanent (compliance
    #: mode). Default: 3, AWS's least.
    changeable_for_days: int = MIN_GRACE_DAYS
    copy: BackupCopy = BackupCopy()
    #: Back up the table and the bucket (the selection). False only on the emulator, which has
    #: no CreateBackupSelection (the emulator table). Default: on.
    selection: bool = True
    #: Attributes of the vaults and the plan an emulator reports differently from AWS (the
    #: emulator table). Default: none.
    ignore_drift_in: tuple[str, ...] = ()
    alarms: BackupAlarms = BackupAlarms()
    #: What is backed up: the stage's table and bucket.
    resource_arns: tuple[str, ...] = field(
        default=(), metadata=set_by_the_stack("the stage's table and bucket")
    )
    #: The account's backup role (its bootstrap's).
    role_arn: str = field(default="", metadata=set_by_the_stack("the stage's account"))
    #: The provider of the copy vault's region.
    copy_provider: TerraformProvider | None = field(
        default=None, compare=False, metadata=set_by_the_stack("the stack's copy-region provider")
    )
    #: The vaults get prevent_destroy.
    protect_data: bool = field(
        default=True, metadata=set_by_the_stack("the stage's `protect_data`")
    )

    def problems(self) -> list[Problem]:
        found = [p.within("alarms") for p in self.alarms.problems()]
        if not _SCHEDULE.match(self.schedule):
            found.append(
                Problem(
                    "schedule",
                    f"{self.schedule!r} is not an AWS Backup schedule",
                    "use cron(minutes hours day-of-month month day-of-week year), e.g. "
                    "'cron(0 3 * * ? *)', or rate(N hours|days)",
                )
            )
        found += self._lock_problems()
        found += self._copy_problems()
        return found

    def _lock_problems(self) -> list[Problem]:
        found = []
        if not 1 <= self.min_retention_days <= self.max_retention_days <= MAX_RETENTION_DAYS:
            found.append(
                Problem(
                    "min_retention_days/max_retention_days",
                    f"1 <= {self.min_retention_days} <= {self.max_retention_days} <= "
                    f"{MAX_RETENTION_DAYS} does not hold",
                    "keep 1 <= min_retention_days <= max_retention_days <= 36500",
                )
            )
        for setting, days in (
            ("retention_days", self.retention_days),
            ("copy.retention_days", self.copy.retention_days),
        ):
            if not self.min_retention_days <= days <= self.max_retention_days:
                found.append(
                    Problem(
                        setting,
                        f"{days} days is outside the vault lock's {self.min_retention_days}-"
                        f"{self.max_retention_days}, so AWS Backup would refuse every backup",
                        "keep it between min_retention_days and max_retention_days",
                    )
                )
        if self.changeable_for_days < MIN_GRACE_DAYS:
            found.append(
                Problem(
                    "changeable_for_days",
                    f"{self.changeable_for_days} is less than AWS's least grace",
                    f"use at least {MIN_GRACE_DAYS}",
                )
            )
        return found

    def _copy_problems(self) -> list[Problem]:
        if self.copy.vault_arn is not None and not _VAULT_ARN.match(self.copy.vault_arn):
            return [
                Problem(
                    "copy.vault_arn",
                    f"{self.copy.vault_arn!r} is not a backup vault's ARN",
                    "use arn:aws:backup:<region>:<account>:backup-vault:<name>, or None for a "
                    "copy vault of the stage's own in copy.region",
                )
            ]
        if not _REGION.match(self.copy.region):
            return [
                Problem(
                    "copy.region",
                    f"'{self.copy.region}' is not an AWS region name",
                    "use a region code such as 'us-west-2'",
                )
            ]
        return []


class BackupsChanges(TypedDict, total=False):
    """What a stage's row may change of BackupsProps (stacks/settings/stages.py)."""

    schedule: str
    retention_days: int
    min_retention_days: int
    max_retention_days: int
    changeable_for_days: int
    copy: BackupCopy
    selection: bool
    ignore_drift_in: tuple[str, ...]
    alarms: BackupAlarms
