"""The web ACL's deploy and review permissions."""

from __future__ import annotations

from constructs_lib.concern import Family

FAMILIES = (
    # CloudFront's web ACL (us-east-1) and AWS's managed rule groups it uses.
    Family(
        "WebAcl",
        lambda s, a: [
            f"arn:aws:wafv2:us-east-1:{a}:global/webacl/{s.name}-*/*",
            "arn:aws:wafv2:us-east-1:*:global/managedruleset/*/*",
        ],
        read=("wafv2:GetWebACL", "wafv2:GetLoggingConfiguration", "wafv2:ListTagsForResource"),
        write=(
            "wafv2:CreateWebACL",
            "wafv2:UpdateWebACL",
            "wafv2:DeleteWebACL",
            "wafv2:PutLoggingConfiguration",
            "wafv2:DeleteLoggingConfiguration",
            "wafv2:TagResource",
            "wafv2:UntagResource",
        ),
        types=("aws_wafv2_web_acl", "aws_wafv2_web_acl_logging_configuration"),
        concern="waf",
    ),
)
