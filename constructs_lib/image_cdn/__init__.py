"""The CDN (CloudFront): construct.py, props.py, permissions.py."""

from constructs_lib.concern import Concern
from constructs_lib.image_cdn import billing, permissions

_CREATED = (
    "a CloudFront distribution's, origin access control's, origin access identity's, cache or "
    "response-headers policy's id does not exist before it is created"
)
CONCERN = Concern(
    "image_cdn",
    families=permissions.FAMILIES,
    log_groups=("/aws/cloudfront/{stack}", "/aws/cloudfront/{stack}:*"),
    identity={
        "aws_cloudfront_distribution": (
            "CDN distribution: its *.cloudfront.net name changes, and every configured endpoint "
            "using it would stop working"
        ),
    },
    on_every_resource={
        f"cloudfront:{action}": _CREATED
        for action in (
            "CreateDistribution",
            "CreateOriginAccessControl",
            "CreateCloudFrontOriginAccessIdentity",
            "CreateCachePolicy",
            "CreateResponseHeadersPolicy",
        )
    },
    billing=billing.BILLING,
    usage=billing.USAGE,
)
