"""The organisation's baseline for every S3 bucket, shared by the image and state buckets.

Public access blocked (all four flags), objects owned by the bucket owner (ACLs off), SSE-S3 by
default, and a bucket policy that refuses any request not made over TLS. The resources are
created directly in the caller's scope with fixed ids, so a bucket's resource addresses do not
depend on whether it uses this helper.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from constructs import Construct

DENY_INSECURE_TRANSPORT_SID = "DenyInsecureTransport"


class BucketSecurity:
    """Hardens `bucket`; `add_policy_statement` grants access through the same bucket policy.

    `deny_insecure_transport=False` exists for the local emulator only: moto checks bucket
    policies without the request's context, so the deny would refuse every object request there
    (Terraform's own state reads, uploads, downloads).
    """

    def __init__(self, scope: Construct, bucket: S3Bucket, *, deny_insecure_transport: bool = True):
        self.bucket = bucket
        self.public_access_block = S3BucketPublicAccessBlock(
            scope,
            "PublicAccessBlock",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        self.ownership_controls = S3BucketOwnershipControls(
            scope,
            "OwnershipControls",
            bucket=bucket.id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        self.encryption = S3BucketServerSideEncryptionConfigurationA(
            scope,
            "Encryption",
            bucket=bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=(
                        S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                            sse_algorithm="AES256"
                        )
                    )
                )
            ],
        )
        self._statements: list[DataAwsIamPolicyDocumentStatement] = []
        self._policy_document: DataAwsIamPolicyDocument | None = None
        self._scope = scope
        if deny_insecure_transport:
            self.add_policy_statement(
                DataAwsIamPolicyDocumentStatement(
                    sid=DENY_INSECURE_TRANSPORT_SID,
                    effect="Deny",
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(type="*", identifiers=["*"])
                    ],
                    actions=["s3:*"],
                    resources=[bucket.arn, f"{bucket.arn}/*"],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="Bool", variable="aws:SecureTransport", values=["false"]
                        )
                    ],
                )
            )

    def add_policy_statement(self, statement: DataAwsIamPolicyDocumentStatement) -> None:
        """Add a statement to the bucket policy, creating the policy on first use."""
        self._statements.append(statement)
        if self._policy_document is None:
            self._policy_document = DataAwsIamPolicyDocument(
                self._scope, "PolicyDocument", statement=self._statements
            )
            S3BucketPolicy(
                self._scope,
                "Policy",
                bucket=self.bucket.id,
                policy=self._policy_document.json,
                # S3 refuses concurrent changes to one bucket's access settings.
                depends_on=[self.public_access_block],
            )
        else:
            self._policy_document.put_statement(self._statements)
