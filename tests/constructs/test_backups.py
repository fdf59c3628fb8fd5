"""Backups (issue 37): staging and production back up the table and the image bucket daily with
AWS Backup into a locked vault, each recovery point copied into a locked vault in another
region; no deploy role may delete a vault, its lock or a recovery point; failed jobs are
alarmed. Asserted on the synthesized JSON; local-production applies the vaults, locks and plan
(moto has no backup selection: the emulator table's backups.selection row)."""

from __future__ import annotations

import json

import pytest

from constructs_lib.backups.props import BACKUP_ROLE, BackupCopy, BackupsProps
from tests.constructs import refusal


@pytest.mark.parametrize("name", ("dev", "local"))
def test_no_backups_in_dev(stage, name):
    synth = stage(name)
    assert [t for t in synth.json["resource"] if t.startswith("aws_backup")] == []


@pytest.mark.parametrize("name", ("staging", "production"))
def test_a_locked_vault_and_a_locked_copy_in_another_region(stage, name):
    synth = stage(name)
    vaults = {v["name"]: v for v in synth.resources("aws_backup_vault").values()}
    stack = f"image-service-{name}"
    assert sorted(vaults) == [stack, f"{stack}-copy"]
    assert "provider" not in vaults[stack]
    assert vaults[f"{stack}-copy"]["provider"] == "aws.backup_copy"
    # AWS Backup's own key: no role of the stage can schedule its deletion.
    assert all("kms_key_arn" not in v for v in vaults.values())
    protected = name == "production"
    locks = list(synth.resources("aws_backup_vault_lock_configuration").values())
    assert len(locks) == 2
    for lock in locks:
        assert (lock["min_retention_days"], lock["max_retention_days"]) == (7, 365)
        assert lock["changeable_for_days"] == 3
        assert lock["lifecycle"] == {"prevent_destroy": protected}
    assert all(v["lifecycle"] == {"prevent_destroy": protected} for v in vaults.values())
    [copy_provider] = [p for p in synth.json["provider"]["aws"] if p.get("alias") == "backup_copy"]
    assert copy_provider["region"] == "us-west-2"


@pytest.mark.parametrize("name", ("staging", "production"))
def test_a_daily_plan_backs_up_the_table_and_the_bucket_and_copies_each_point(stage, name):
    synth = stage(name)
    [rule] = synth.one("aws_backup_plan")["rule"]
    assert rule["rule_name"] == "daily" and rule["schedule"] == "cron(0 3 * * ? *)"
    assert rule["target_vault_name"] == synth.ref("aws_backup_vault", "Backups_Vault", "name")
    assert rule["lifecycle"] == {"delete_after": 35}
    assert rule["copy_action"] == [
        {
            "destination_vault_arn": synth.ref("aws_backup_vault", "Backups_CopyVault", "arn"),
            "lifecycle": {"delete_after": 35},
        }
    ]
    selection = synth.one("aws_backup_selection")
    assert selection["plan_id"] == synth.ref("aws_backup_plan", "Backups_Plan", "id")
    account = synth.json["provider"]["aws"][0]["allowed_account_ids"][0]
    assert selection["iam_role_arn"] == f"arn:aws:iam::{account}:role/{BACKUP_ROLE}"
    assert selection["resources"] == [
        synth.ref("aws_dynamodb_table", "MetadataTable", "arn"),
        synth.ref("aws_s3_bucket", "ImageBucket", "arn"),
    ]


def test_the_emulator_applies_the_vaults_and_plan_without_a_selection(stage):
    synth = stage("local-production")
    assert len(synth.resources("aws_backup_vault")) == 2
    assert len(synth.resources("aws_backup_plan")) == 1
    assert synth.resources("aws_backup_selection") == {}


@pytest.mark.parametrize("name", ("staging", "production"))
def test_failed_backup_and_copy_jobs_are_alarmed(stage, name):
    synth = stage(name)
    alarms = {a["alarm_name"]: a for a in synth.resources("aws_cloudwatch_metric_alarm").values()}
    stack = f"image-service-{name}"
    for slug, metric in (
        ("backup-jobs-failed", "NumberOfBackupJobsFailed"),
        ("backup-copy-jobs-failed", "NumberOfCopyJobsFailed"),
    ):
        alarm = alarms[f"{stack}-{slug}"]
        assert (alarm["namespace"], alarm["metric_name"]) == ("AWS/Backup", metric)
        assert alarm["dimensions"] == {"BackupVaultName": stack}
        assert (alarm["statistic"], alarm["period"], alarm["threshold"]) == ("Sum", 86400, 0)


@pytest.mark.parametrize(
    "state", ("image-service-state-222222222222", "image-service-state-333333333333")
)
def test_no_deploy_role_may_lose_a_backup(stacks, state):
    synth = stacks[state]
    # The role's inline policy and the managed policies what did not fit went into.
    documents = [
        json.loads(p["policy"])
        for kind in ("aws_iam_role_policy", "aws_iam_policy")
        for p in synth.resources(kind).values()
        if p["name"].startswith("image-service-deploy-")
    ]
    [deny] = [s for d in documents for s in d["Statement"] if s["Sid"] == "NeverLoseData"]
    assert deny["Effect"] == "Deny" and deny["Resource"] == ["*"]
    assert {
        "backup:DeleteBackupVault",
        "backup:DeleteBackupVaultLockConfiguration",
        "backup:DeleteRecoveryPoint",
        "backup:UpdateRecoveryPointLifecycle",
    } <= set(deny["Action"])


def test_the_accounts_backup_role_only_aws_backup_assumes(stacks):
    synth = stacks["image-service-state-333333333333"]
    [role] = [r for r in synth.resources("aws_iam_role").values() if r["name"] == BACKUP_ROLE]
    trust_name = role["assume_role_policy"].split(".")[2]
    [statement] = synth.data("aws_iam_policy_document")[trust_name]["statement"]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["backup.amazonaws.com"]}]
    attached = sorted(
        a["policy_arn"]
        for a in synth.resources("aws_iam_role_policy_attachment").values()
        if "BackupRole" in a["role"]
    )
    assert attached == sorted(
        [
            "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
            "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
            "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
            "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
        ]
    )
    # The previews account's stages never back up: no role there.
    previews = stacks["image-service-state-555555555555"]
    assert [
        r for r in previews.resources("aws_iam_role").values() if r["name"] == BACKUP_ROLE
    ] == []


def test_backups_built_directly_with_bad_props_are_refused(bare_stack):
    from constructs_lib.backups.construct import Backups

    props = BackupsProps(
        name="bare",
        schedule="daily",
        retention_days=400,
        changeable_for_days=1,
        copy=BackupCopy(vault_arn="vault"),
    )
    assert refusal(bare_stack, lambda: Backups(bare_stack, "B", props)) == (
        "Backups 'bare': 4 problems:\n"
        "  - `schedule`: 'daily' is not an AWS Backup schedule. Fix: use cron(minutes hours "
        "day-of-month month day-of-week year), e.g. 'cron(0 3 * * ? *)', or rate(N "
        "hours|days).\n"
        "  - `retention_days`: 400 days is outside the vault lock's 7-365, so AWS Backup would "
        "refuse every backup. Fix: keep it between min_retention_days and max_retention_days.\n"
        "  - `changeable_for_days`: 1 is less than AWS's least grace. Fix: use at least 3.\n"
        "  - `copy.vault_arn`: 'vault' is not a backup vault's ARN. Fix: use "
        "arn:aws:backup:<region>:<account>:backup-vault:<name>, or None for a copy vault of "
        "the stage's own in copy.region."
    )
