"""The image bucket's deploy and review permissions, and the most a handler may do with its
objects."""

from __future__ import annotations

from collections.abc import Sequence

from constructs_lib.ci_identity.props import DeployScope
from constructs_lib.concern import Family, Statement, statement

# The handlers' own permissions on the images can never exceed these (the boundary).
HANDLER_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")

FAMILIES = (
    Family(
        "ImageBucket",
        lambda s, a: [f"arn:aws:s3:::{s.bucket_name}"],
        read=(
            "s3:ListBucket",
            "s3:GetBucket*",
            "s3:GetAccelerateConfiguration",
            "s3:GetEncryptionConfiguration",
            "s3:GetLifecycleConfiguration",
            "s3:GetReplicationConfiguration",
        ),
        write=(
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:PutBucket*",
            "s3:DeleteBucketPolicy",
            "s3:PutEncryptionConfiguration",
            "s3:PutLifecycleConfiguration",
            "s3:ListBucketVersions",
        ),
        types=(
            "aws_s3_bucket",
            "aws_s3_bucket_cors_configuration",
            "aws_s3_bucket_lifecycle_configuration",
            "aws_s3_bucket_ownership_controls",
            "aws_s3_bucket_policy",
            "aws_s3_bucket_public_access_block",
            "aws_s3_bucket_server_side_encryption_configuration",
            "aws_s3_bucket_versioning",
        ),
    ),
    # A test stage's bucket is emptied when it is destroyed (force_destroy); nothing reads it.
    Family(
        "ImageObjects",
        lambda s, a: [f"arn:aws:s3:::{s.bucket_name}/*"],
        read=(),
        write=("s3:DeleteObject", "s3:DeleteObjectVersion"),
    ),
)


def boundary(stages: Sequence[DeployScope], account: str) -> list[Statement]:
    """A handler may read, write and delete the stages' images, no more."""
    return [
        statement(
            "ServiceImages",
            HANDLER_OBJECT_ACTIONS,
            [f"arn:aws:s3:::{s.bucket_name}/*" for s in stages],
        )
    ]
