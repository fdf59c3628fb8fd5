"""Alarms on failed backup and copy jobs of the stage's vault (thresholds: its props'
`alarms`, BackupAlarms)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from constructs_lib.backups.construct import Backups
    from constructs_lib.monitoring.construct import Monitoring


def add_alarms(monitoring: Monitoring, backups: Backups) -> None:
    thresholds = backups.props.alarms
    monitoring.alarm(
        "backup-jobs-failed",
        metric=backups.metric_failed_backup_jobs(),
        threshold=thresholds.failed_backup_jobs,
        description="AWS Backup failed to back up the table or the image bucket today. First: "
        "the job's status message in the AWS Backup console (Jobs), then the backup role "
        "(image-service-backup) and the bucket's versioning. No jobs: not breaching.",
    )
    monitoring.alarm(
        "backup-copy-jobs-failed",
        metric=backups.metric_failed_copy_jobs(),
        threshold=thresholds.failed_copy_jobs,
        description="A recovery point was not copied to the copy vault today, so it exists in "
        "one place only. First: the copy job's status message, then the copy vault's lock and "
        "policy. No jobs: not breaching.",
    )
    monitoring.graph(
        "Backup jobs (daily)",
        [
            backups.metric_completed_backup_jobs(),
            backups.metric_failed_backup_jobs(),
            backups.metric_failed_copy_jobs(),
        ],
    )
