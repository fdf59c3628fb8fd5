"""The image bucket (S3): construct.py, its hardening (security.py), props.py, permissions.py,
rules.py."""

from constructs_lib.concern import Concern
from constructs_lib.image_bucket import billing, permissions, rules

CONCERN = Concern(
    "image_bucket",
    families=permissions.FAMILIES,
    boundary=permissions.boundary,
    data={"aws_s3_bucket": "bucket (images or Terraform state)"},
    resource_policies=("aws_s3_bucket_policy",),
    rules=rules.RULES,
    billing=billing.BILLING,
    usage=billing.USAGE,
)
