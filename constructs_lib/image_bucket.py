"""The private S3 bucket that stores image bytes."""
from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocumentStatement
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_cors_configuration import (
    S3BucketCorsConfiguration,
    S3BucketCorsConfigurationCorsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)

from constructs_lib.bucket_security import BucketSecurity

CORS_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")


@dataclass(frozen=True)
class ImageBucketProps:
    name: str
    cors_origins: tuple[str, ...]
    versioning: bool
    intelligent_tiering_days: int
    noncurrent_version_expiration_days: int
    abort_multipart_days: int
    # Production data: prevent_destroy, and Terraform may not empty the bucket to delete it.
    protect_from_deletion: bool


class ImageBucket(Construct):
    """Private, encrypted, TLS-only bucket; readers are granted through `add_policy_statement`."""

    def __init__(self, scope: Construct, id_: str, props: ImageBucketProps):
        super().__init__(scope, id_)
        self.bucket = S3Bucket(
            self, "Bucket",
            bucket=props.name,
            force_destroy=not props.protect_from_deletion,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.protect_from_deletion),
        )
        bucket_id = self.bucket.id

        self.security = BucketSecurity(self, self.bucket)
        self.public_access_block = self.security.public_access_block
        S3BucketCorsConfiguration(
            self, "Cors",
            bucket=bucket_id,
            cors_rule=[S3BucketCorsConfigurationCorsRule(
                allowed_methods=list(CORS_METHODS),
                allowed_origins=list(props.cors_origins),
                allowed_headers=["*"],
            )],
        )
        versioning = None
        if props.versioning:
            versioning = S3BucketVersioningA(
                self, "Versioning",
                bucket=bucket_id,
                versioning_configuration=S3BucketVersioningVersioningConfiguration(
                    status="Enabled"),
            )
        self.lifecycle_configuration = S3BucketLifecycleConfiguration(
            self, "Lifecycle",
            bucket=bucket_id,
            rule=self._lifecycle_rules(props),
            # S3 rejects noncurrent-version rules applied before versioning is on.
            depends_on=[versioning] if versioning else None,
        )

    @staticmethod
    def _lifecycle_rules(props: ImageBucketProps) -> list[S3BucketLifecycleConfigurationRule]:
        # An empty prefix filter is the canonical "whole bucket" form S3 returns on read-back.
        whole_bucket = S3BucketLifecycleConfigurationRuleFilter(prefix="")
        rules = [
            S3BucketLifecycleConfigurationRule(
                id="intelligent-tiering",
                status="Enabled",
                filter=[whole_bucket],
                transition=[S3BucketLifecycleConfigurationRuleTransition(
                    days=props.intelligent_tiering_days, storage_class="INTELLIGENT_TIERING")],
            ),
            S3BucketLifecycleConfigurationRule(
                id="abort-incomplete-multipart-uploads",
                status="Enabled",
                filter=[whole_bucket],
                abort_incomplete_multipart_upload=[
                    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                        days_after_initiation=props.abort_multipart_days)],
            ),
        ]
        if props.versioning:
            rules.append(S3BucketLifecycleConfigurationRule(
                id="expire-noncurrent-versions",
                status="Enabled",
                filter=[whole_bucket],
                noncurrent_version_expiration=[
                    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                        noncurrent_days=props.noncurrent_version_expiration_days)],
            ))
        return rules

    def add_policy_statement(self, statement: DataAwsIamPolicyDocumentStatement) -> None:
        """Add a statement to the bucket policy (e.g. a read grant for the CDN)."""
        self.security.add_policy_statement(statement)

    @property
    def name(self) -> str:
        return self.bucket.bucket

    @property
    def arn(self) -> str:
        return self.bucket.arn

    @property
    def regional_domain_name(self) -> str:
        return self.bucket.bucket_regional_domain_name
