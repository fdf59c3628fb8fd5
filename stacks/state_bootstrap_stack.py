"""The bucket that holds the Terraform state of an account's stages, one per account.

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
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from constructs_lib.bucket_security import BucketSecurity
from stacks.policies import BUCKET_DENY_INSECURE_TRANSPORT, OrganisationPolicy, PolicyProps
from stacks.providers import aws_provider, pin_toolchain, s3_backend
from stacks.settings import (
    BOOTSTRAP_STATE_KEY,
    EMULATOR_BUCKET_POLICY_GAP,
    LOCAL_STATE_FILE,
    AccountSettings,
    EmulatorSettings,
    StateBackendSettings,
)


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
        bucket = S3Bucket(
            self,
            "StateBucket",
            bucket=state.bucket,
            # Losing this bucket loses every stage's state: never destroyable outside the
            # emulator.
            force_destroy=not protect_data,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=protect_data),
        )
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
