"""Backups (BackupsProps): AWS Backup's daily backup of the stage's table and image bucket into
a locked vault, each recovery point copied into a second locked vault (another region of the
account by default, or another account's vault), and alarms on failed backup and copy jobs.
BackupServiceRole: the role AWS Backup acts with, which each account's bootstrap creates.

The vaults use AWS Backup's own key (aws/backup): no role of the stage can schedule the deletion
of an AWS managed key, so no role of the stage can make the backups unreadable either.
"""

from __future__ import annotations

from cdktf import TerraformProvider, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.backup_plan import (
    BackupPlan,
    BackupPlanRule,
    BackupPlanRuleCopyAction,
    BackupPlanRuleCopyActionLifecycle,
    BackupPlanRuleLifecycle,
)
from cdktf_cdktf_provider_aws.backup_selection import BackupSelection
from cdktf_cdktf_provider_aws.backup_vault import BackupVault
from cdktf_cdktf_provider_aws.backup_vault_lock_configuration import (
    BackupVaultLockConfiguration,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from constructs_lib.backups import alarms
from constructs_lib.backups.props import BACKUP_ROLE, BACKUP_SERVICE_POLICIES, BackupsProps
from constructs_lib.grants import service_trust
from constructs_lib.metrics import Metric
from constructs_lib.monitoring.construct import Monitoring
from constructs_lib.validation import check

# AWS Backup publishes its job metrics every 5 minutes; the alarms count them per day.
DAY = 86400


class Backups(Construct):
    """Exposes `vault`, `copy_vault_arn`, `plan` and the vaults' names."""

    def __init__(self, scope: Construct, id_: str, props: BackupsProps):
        check(props, f"Backups '{props.name}'")
        super().__init__(scope, id_)
        self.props = props
        keep = TerraformResourceLifecycle(
            prevent_destroy=props.protect_data,
            ignore_changes=list(props.ignore_drift_in) or None,
        )
        self.vault = self._locked_vault("Vault", props.name, None, keep)
        if props.copy.vault_arn is None:
            copy = self._locked_vault("CopyVault", f"{props.name}-copy", props.copy_provider, keep)
            self.copy_vault_arn = copy.arn
        else:
            self.copy_vault_arn = props.copy.vault_arn
        self.plan = BackupPlan(
            self,
            "Plan",
            name=props.name,
            lifecycle=TerraformResourceLifecycle(ignore_changes=list(props.ignore_drift_in))
            if props.ignore_drift_in
            else None,
            rule=[
                BackupPlanRule(
                    rule_name="daily",
                    target_vault_name=self.vault.name,
                    schedule=props.schedule,
                    lifecycle=BackupPlanRuleLifecycle(delete_after=props.retention_days),
                    copy_action=[
                        BackupPlanRuleCopyAction(
                            destination_vault_arn=self.copy_vault_arn,
                            lifecycle=BackupPlanRuleCopyActionLifecycle(
                                delete_after=props.copy.retention_days
                            ),
                        )
                    ],
                )
            ],
        )
        if props.selection:
            BackupSelection(
                self,
                "Selection",
                name=f"{props.name}-data",
                plan_id=self.plan.id,
                iam_role_arn=props.role_arn,
                resources=list(props.resource_arns),
            )

    def _locked_vault(
        self,
        id_: str,
        name: str,
        provider: TerraformProvider | None,
        keep: TerraformResourceLifecycle,
    ) -> BackupVault:
        props = self.props
        vault = BackupVault(self, id_, name=name, lifecycle=keep, provider=provider)
        BackupVaultLockConfiguration(
            self,
            f"{id_}Lock",
            backup_vault_name=vault.name,
            min_retention_days=props.min_retention_days,
            max_retention_days=props.max_retention_days,
            changeable_for_days=props.changeable_for_days,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.protect_data),
            provider=provider,
        )
        return vault

    def _metric(self, name: str) -> Metric:
        return Metric("AWS/Backup", name, {"BackupVaultName": self.props.name}, "Sum", period=DAY)

    def metric_failed_backup_jobs(self) -> Metric:
        return self._metric("NumberOfBackupJobsFailed")

    def metric_failed_copy_jobs(self) -> Metric:
        return self._metric("NumberOfCopyJobsFailed")

    def metric_completed_backup_jobs(self) -> Metric:
        return self._metric("NumberOfBackupJobsCompleted")

    def add_alarms(self, monitoring: Monitoring) -> None:
        """Failed backup and copy jobs (alarms.py)."""
        alarms.add_alarms(monitoring, self)


class BackupServiceRole(Construct):
    """The role AWS Backup acts with in the account (BACKUP_ROLE): only AWS Backup may assume
    it, with AWS's managed policies for DynamoDB and S3 backups and restores (`policies`: none
    on the emulator, which loads no AWS managed policies)."""

    def __init__(
        self, scope: Construct, id_: str, policies: tuple[str, ...] = BACKUP_SERVICE_POLICIES
    ):
        super().__init__(scope, id_)
        trust = service_trust(self, "Trust", "backup.amazonaws.com")
        self.role = IamRole(self, "Role", name=BACKUP_ROLE, assume_role_policy=trust.json)
        for n, arn in enumerate(policies):
            IamRolePolicyAttachment(self, f"Policy{n}", role=self.role.name, policy_arn=arn)
