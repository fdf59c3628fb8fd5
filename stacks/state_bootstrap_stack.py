"""The bucket that holds every stage's Terraform state, created once per account.

Its own state is local (it cannot live in the bucket it creates): keep
`terraform.image-service-state.tfstate` (project root) safe, or `terraform import` the bucket.
"""

from __future__ import annotations

from cdktf import Aspects, LocalBackend, TerraformOutput, TerraformResourceLifecycle, TerraformStack
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from constructs_lib.bucket_security import BucketSecurity
from stacks.policies import BUCKET_DENY_INSECURE_TRANSPORT, OrganisationPolicy, PolicyProps
from stacks.providers import aws_provider
from stacks.settings import EMULATOR_BUCKET_POLICY_GAP, EmulatorSettings, StateBackendSettings


class StateBootstrapStack(TerraformStack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        state: StateBackendSettings,
        emulator: EmulatorSettings | None,
        protect_data: bool,
    ):
        super().__init__(scope, id_)
        # Relative to the stack's directory (cdktf.out/stacks/<id>): the real bucket's state goes
        # to the project root, where `make clean` cannot delete it; the emulator's, which dies
        # with the emulator, stays beside its stack.
        LocalBackend(
            self,
            path=f"terraform.{id_}.tfstate" if emulator else f"../../../terraform.{id_}.tfstate",
        )
        aws_provider(self, "aws", region=state.region, stage="shared", emulator=emulator)
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
