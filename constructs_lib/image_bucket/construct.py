"""The private S3 bucket that stores image bytes."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocumentStatement
from cdktf_cdktf_provider_aws.s3_bucket import (
    S3Bucket,
    S3BucketLifecycleRule,
    S3BucketLifecycleRuleExpiration,
    S3BucketLifecycleRuleNoncurrentVersionExpiration,
    S3BucketLifecycleRuleTransition,
)
from cdktf_cdktf_provider_aws.s3_bucket_cors_configuration import (
    S3BucketCorsConfiguration,
    S3BucketCorsConfigurationCorsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from constructs_lib.grants import Grantee, grant
from constructs_lib.image_bucket.props import ImageBucketProps as ImageBucketProps
from constructs_lib.image_bucket.security import BucketSecurity
from constructs_lib.validation import check

CORS_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")


@dataclass(frozen=True)
class LifecycleRule:
    """One lifecycle rule over the whole bucket, whichever form Terraform is given it in."""

    id: str
    intelligent_tiering_after_days: int | None = None
    abort_multipart_upload_after_days: int | None = None
    noncurrent_versions_expire_after_days: int | None = None
    #: Remove a delete marker once no version is left behind it (versioned buckets: without
    #: this, every deleted image leaves a marker forever after its versions expired).
    remove_expired_delete_markers: bool = False


def lifecycle_rules(props: ImageBucketProps) -> list[LifecycleRule]:
    """Tier images to Intelligent-Tiering, abort stale multipart uploads, and (versioned)
    expire noncurrent versions and then the delete markers they leave."""
    rules = [
        LifecycleRule(
            "intelligent-tiering", intelligent_tiering_after_days=props.intelligent_tiering_days
        ),
        LifecycleRule(
            "abort-incomplete-multipart-uploads",
            abort_multipart_upload_after_days=props.abort_multipart_days,
        ),
    ]
    if props.versioning:
        rules.append(
            LifecycleRule(
                "expire-noncurrent-versions",
                noncurrent_versions_expire_after_days=props.noncurrent_version_expiration_days,
                remove_expired_delete_markers=True,
            )
        )
    return rules


class ImageBucket(Construct):
    """Private, encrypted, TLS-only bucket; readers are granted through `add_policy_statement`."""

    def __init__(self, scope: Construct, id_: str, props: ImageBucketProps):
        check(props, f"ImageBucket '{props.name}'")
        super().__init__(scope, id_)
        rules = lifecycle_rules(props)
        self.bucket = S3Bucket(
            self,
            "Bucket",
            bucket=props.name,
            force_destroy=not props.protect_data,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.protect_data),
            lifecycle_rule=self._inline_rules(rules) if props.inline_lifecycle_rules else None,
        )
        bucket_id = self.bucket.id

        self.security = BucketSecurity(
            self, self.bucket, deny_insecure_transport=props.deny_insecure_transport
        )
        self.public_access_block = self.security.public_access_block
        S3BucketCorsConfiguration(
            self,
            "Cors",
            bucket=bucket_id,
            cors_rule=[
                S3BucketCorsConfigurationCorsRule(
                    allowed_methods=list(CORS_METHODS),
                    allowed_origins=list(props.cors_origins),
                    allowed_headers=["*"],
                    expose_headers=list(props.cors_expose_headers),
                    max_age_seconds=props.cors_max_age_seconds,
                )
            ],
        )
        versioning = None
        if props.versioning:
            versioning = S3BucketVersioningA(
                self,
                "Versioning",
                bucket=bucket_id,
                versioning_configuration=S3BucketVersioningVersioningConfiguration(
                    status="Enabled"
                ),
            )
        self.lifecycle_configuration: S3BucketLifecycleConfiguration | None = None
        if not props.inline_lifecycle_rules:
            self.lifecycle_configuration = S3BucketLifecycleConfiguration(
                self,
                "Lifecycle",
                bucket=bucket_id,
                rule=self._configuration_rules(rules),
                # S3 rejects noncurrent-version rules applied before versioning is on.
                depends_on=[versioning] if versioning else None,
            )

    @staticmethod
    def _configuration_rules(
        rules: list[LifecycleRule],
    ) -> list[S3BucketLifecycleConfigurationRule]:
        # An empty prefix filter is the canonical "whole bucket" form S3 returns on read-back.
        whole_bucket = S3BucketLifecycleConfigurationRuleFilter(prefix="")
        out = []
        for rule in rules:
            out.append(
                S3BucketLifecycleConfigurationRule(
                    id=rule.id,
                    status="Enabled",
                    filter=[whole_bucket],
                    transition=[
                        S3BucketLifecycleConfigurationRuleTransition(
                            days=rule.intelligent_tiering_after_days,
                            storage_class="INTELLIGENT_TIERING",
                        )
                    ]
                    if rule.intelligent_tiering_after_days is not None
                    else None,
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=rule.abort_multipart_upload_after_days
                        )
                    ]
                    if rule.abort_multipart_upload_after_days is not None
                    else None,
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=rule.noncurrent_versions_expire_after_days
                        )
                    ]
                    if rule.noncurrent_versions_expire_after_days is not None
                    else None,
                    expiration=[
                        S3BucketLifecycleConfigurationRuleExpiration(
                            expired_object_delete_marker=True
                        )
                    ]
                    if rule.remove_expired_delete_markers
                    else None,
                )
            )
        return out

    @staticmethod
    def _inline_rules(rules: list[LifecycleRule]) -> list[S3BucketLifecycleRule]:
        # No prefix: the whole bucket, as in the resource form.
        return [
            S3BucketLifecycleRule(
                id=rule.id,
                enabled=True,
                transition=[
                    S3BucketLifecycleRuleTransition(
                        days=rule.intelligent_tiering_after_days,
                        storage_class="INTELLIGENT_TIERING",
                    )
                ]
                if rule.intelligent_tiering_after_days is not None
                else None,
                abort_incomplete_multipart_upload_days=rule.abort_multipart_upload_after_days,
                noncurrent_version_expiration=S3BucketLifecycleRuleNoncurrentVersionExpiration(
                    days=rule.noncurrent_versions_expire_after_days
                )
                if rule.noncurrent_versions_expire_after_days is not None
                else None,
                expiration=S3BucketLifecycleRuleExpiration(expired_object_delete_marker=True)
                if rule.remove_expired_delete_markers
                else None,
            )
            for rule in rules
        ]

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

    def grant_read(
        self, grantee: Grantee, key_pattern: str = "*"
    ) -> DataAwsIamPolicyDocumentStatement:
        """s3:GetObject on the objects matching key_pattern (e.g. "images/*")."""
        return grant(grantee, "ReadImages", ("s3:GetObject",), [self._objects(key_pattern)])

    def grant_put(
        self, grantee: Grantee, key_pattern: str = "*"
    ) -> DataAwsIamPolicyDocumentStatement:
        """s3:PutObject on key_pattern; presigned upload URLs are signed with it."""
        return grant(grantee, "PutImages", ("s3:PutObject",), [self._objects(key_pattern)])

    def grant_delete(
        self, grantee: Grantee, key_pattern: str = "*"
    ) -> DataAwsIamPolicyDocumentStatement:
        """s3:DeleteObject on key_pattern."""
        return grant(grantee, "DeleteImages", ("s3:DeleteObject",), [self._objects(key_pattern)])

    def _objects(self, key_pattern: str) -> str:
        return f"{self.arn}/{key_pattern}"
