"""An account's bootstrap: the bucket that holds the Terraform state of its stages, and its CI
identity (constructs_lib/ci_identity/: GitHub's OIDC provider, the review role, a deploy role
per stage, the permissions boundary), one per account.

Its own state starts local (it cannot live in a bucket that does not exist yet) and moves into
the bucket it created: `python -m ops.bootstrap STAGE` applies it with local state, then
`terraform init -migrate-state` copies that state into the bucket
(`image-service/bootstrap/terraform.tfstate`) and the local file is removed, so no state lives
only on one machine. After that every synthesis keeps it in the bucket (the local-state variant
is only for that first step: `state_in_bucket=False`). The emulator's bootstrap keeps local state
beside its stack (the emulator's memory is gone when it stops anyway), unless asked.
"""

from __future__ import annotations

from cdktf import (
    Aspects,
    LocalBackend,
    TerraformOutput,
    TerraformResourceLifecycle,
    TerraformStack,
)
from cdktf_cdktf_provider_aws.s3_bucket import (
    S3Bucket,
    S3BucketLifecycleRule,
    S3BucketLifecycleRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from constructs_lib.backups.construct import BackupServiceRole
from constructs_lib.backups.props import BACKUP_SERVICE_POLICIES
from constructs_lib.ci_identity.construct import CiIdentity
from constructs_lib.ci_identity.props import CiIdentityProps
from constructs_lib.image_bucket.rules import BUCKET_DENY_INSECURE_TRANSPORT
from constructs_lib.image_bucket.security import BucketSecurity
from stacks.policies import OrganisationPolicy, PolicyProps
from stacks.providers import aws_provider, pin_toolchain, s3_backend
from stacks.settings import (
    BOOTSTRAP_STATE_KEY,
    EMULATOR_BUCKET_POLICY_GAP,
    LOCAL_STATE_FILE,
    AccountSettings,
    EmulatorSettings,
    StateBackendSettings,
)

# Days an overwritten state version is kept (to recover from a bad apply) before it expires.
NONCURRENT_STATE_DAYS = 90


def role_output(kind: str, stage: str) -> str:
    """The name of a bootstrap's output holding a stage's role ARN (`kind`: DeployRoleArn,
    DnsWriterRoleArn): Terraform's output names take no '-'."""
    return f"{kind}_{stage.replace('-', '_')}"


def deploy_role_output(stage: str) -> str:
    """The bootstrap's output holding the stage's deploy role ARN."""
    return role_output("DeployRoleArn", stage)


class StateBootstrapStack(TerraformStack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        state: StateBackendSettings,
        account: AccountSettings,
        emulator: EmulatorSettings | None,
        protect_data: bool,
        state_in_bucket: bool | None = None,
        identity: CiIdentityProps | None = None,
        noncurrent_state_days: int = NONCURRENT_STATE_DAYS,
    ):
        """state_in_bucket: keep this stack's own state in the bucket it creates (True) or in a
        file beside it (False: before the bucket exists). Default: in the bucket on AWS, local
        on the emulator."""
        super().__init__(scope, id_)
        pin_toolchain(self)
        if state_in_bucket if state_in_bucket is not None else emulator is None:
            s3_backend(self, state, BOOTSTRAP_STATE_KEY, emulator, account)
        else:
            LocalBackend(self, path=LOCAL_STATE_FILE)
        aws_provider(
            self, "aws", region=state.region, stage="shared", account=account, emulator=emulator
        )
        bucket = self._state_bucket(state, protect_data, emulator, noncurrent_state_days)
        S3BucketVersioningA(
            self,
            "Versioning",
            bucket=bucket.id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        # On the emulator the deny-non-TLS statement would refuse Terraform's own state reads
        # and writes (EMULATOR_BUCKET_POLICY_GAP).
        BucketSecurity(self, bucket, deny_insecure_transport=emulator is None)
        Aspects.of(self).add(
            OrganisationPolicy(
                PolicyProps(
                    protect_data=protect_data,
                    waivers={BUCKET_DENY_INSECURE_TRANSPORT: EMULATOR_BUCKET_POLICY_GAP}
                    if emulator
                    else {},
                )
            )
        )
        TerraformOutput(self, "StateBucketName", value=bucket.bucket)
        if identity is not None:
            self._ci_identity(identity)
            if any(scope.may_have("backups") for scope in identity.stages):
                self._backup_role(emulator)

    def _state_bucket(
        self,
        state: StateBackendSettings,
        protect_data: bool,
        emulator: EmulatorSettings | None,
        noncurrent_days: int,
    ) -> S3Bucket:
        """The bucket, whose overwritten state versions expire after `noncurrent_days` (kept
        that long to undo a bad apply). On the emulator the rule is inline: the lifecycle
        configuration resource waits 55 s on create (EMULATOR_TABLE,
        bucket.inline_lifecycle_rules)."""
        rule_id = "expire-noncurrent-state"
        bucket = S3Bucket(
            self,
            "StateBucket",
            bucket=state.bucket,
            # Losing this bucket loses every stage's state: never destroyable outside the
            # emulator.
            force_destroy=not protect_data,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=protect_data),
            lifecycle_rule=[
                S3BucketLifecycleRule(
                    id=rule_id,
                    enabled=True,
                    noncurrent_version_expiration=S3BucketLifecycleRuleNoncurrentVersionExpiration(
                        days=noncurrent_days
                    ),
                    abort_incomplete_multipart_upload_days=1,
                )
            ]
            if emulator
            else None,
        )
        if not emulator:
            S3BucketLifecycleConfiguration(
                self,
                "StateVersions",
                bucket=bucket.id,
                rule=[
                    S3BucketLifecycleConfigurationRule(
                        id=rule_id,
                        status="Enabled",
                        filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                        # Terraform writes state in one PUT: nothing uploaded in parts is kept.
                        abort_incomplete_multipart_upload=[
                            S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                                days_after_initiation=1
                            )
                        ],
                        noncurrent_version_expiration=[
                            S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                                noncurrent_days=noncurrent_days
                            )
                        ],
                    )
                ],
            )
        return bucket

    def _backup_role(self, emulator: EmulatorSettings | None) -> None:
        """The role AWS Backup acts with for the account's stages (their backup selections,
        the restore commands' recovery-point restores); on the emulator without AWS's managed
        policies (EMULATOR_MANAGED_POLICIES_GAP)."""
        role = BackupServiceRole(
            self, "BackupRole", policies=() if emulator else BACKUP_SERVICE_POLICIES
        )
        TerraformOutput(self, "BackupRoleArn", value=role.role.arn)

    def _ci_identity(self, identity: CiIdentityProps) -> None:
        """The account's CI identity, and its ARNs as outputs (the workflows' secrets)."""
        self.identity = CiIdentity(self, "CiIdentity", identity)
        TerraformOutput(self, "GitHubOidcProviderArn", value=self.identity.oidc_provider.arn)
        TerraformOutput(self, "ReviewRoleArn", value=self.identity.review_role.arn)
        TerraformOutput(self, "PermissionsBoundaryArn", value=self.identity.boundary.arn)
        for stage, role in self.identity.deploy_roles.items():
            TerraformOutput(self, deploy_role_output(stage), value=role.arn)
