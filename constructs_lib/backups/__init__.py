"""Backups with AWS Backup (a locked vault, its locked copy, the daily plan): construct.py,
props.py, alarms.py, permissions.py, rules.py."""

from constructs_lib.backups import billing, permissions, rules
from constructs_lib.backups.props import BACKUP_SERVICE_POLICIES
from constructs_lib.concern import Concern

CONCERN = Concern(
    "backups",
    families=permissions.FAMILIES,
    never=permissions.NEVER,
    data={
        "aws_backup_vault": "backup vault (the recovery points)",
        "aws_backup_vault_lock_configuration": (
            "vault lock (without it the recovery points could be deleted)"
        ),
    },
    on_every_resource={
        "backup-storage:MountCapsule": "creating a backup vault mounts its storage, an action "
        "that authorizes on no resource (the Service Authorization Reference)",
    },
    managed_policies={
        arn: "AWS Backup's service role: AWS's policies for backing up and restoring DynamoDB "
        "tables and S3 buckets (AWS Backup's docs), attached to the account bootstrap's "
        "image-service-backup, which only AWS Backup may assume"
        for arn in BACKUP_SERVICE_POLICIES
    },
    rules=rules.RULES,
    billing=billing.BILLING,
    usage=billing.USAGE,
)
