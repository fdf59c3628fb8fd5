"""The user pool (Cognito) and its app client: construct.py, props.py, permissions.py."""

from constructs_lib.concern import Concern
from constructs_lib.user_auth import billing, permissions

CONCERN = Concern(
    "user_auth",
    families=permissions.FAMILIES,
    data={"aws_cognito_user_pool": "user pool (user accounts)"},
    identity={
        "aws_cognito_user_pool_client": (
            "app client: every issued token and every frontend's configured client id would stop "
            "working"
        ),
    },
    on_every_resource={
        "cognito-idp:CreateUserPool": "a user pool's ARN does not exist before it is created",
    },
    billing=billing.BILLING,
    usage=billing.USAGE,
)
