"""The user pool's deploy and review permissions."""

from __future__ import annotations

from constructs_lib.concern import Family

FAMILIES = (
    Family(
        "Auth",
        lambda s, a: [f"arn:aws:cognito-idp:{s.region}:{a}:userpool/*"],
        read=(
            "cognito-idp:DescribeUserPool",
            "cognito-idp:DescribeUserPoolClient",
            "cognito-idp:GetUserPoolMfaConfig",
            "cognito-idp:ListTagsForResource",
        ),
        write=(
            "cognito-idp:UpdateUserPool",
            "cognito-idp:DeleteUserPool",
            "cognito-idp:SetUserPoolMfaConfig",
            "cognito-idp:CreateUserPoolClient",
            "cognito-idp:UpdateUserPoolClient",
            "cognito-idp:DeleteUserPoolClient",
            "cognito-idp:TagResource",
            "cognito-idp:UntagResource",
        ),
        types=("aws_cognito_user_pool", "aws_cognito_user_pool_client"),
        write_anywhere=("cognito-idp:CreateUserPool",),
    ),
)
