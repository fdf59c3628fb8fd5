"""Who may call the API: a Cognito user pool and browser app client, or existing ones."""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.cognito_user_pool import (
    CognitoUserPool,
    CognitoUserPoolAccountRecoverySetting,
    CognitoUserPoolAccountRecoverySettingRecoveryMechanism,
    CognitoUserPoolAdminCreateUserConfig,
    CognitoUserPoolEmailConfiguration,
    CognitoUserPoolPasswordPolicy,
    CognitoUserPoolSoftwareTokenMfaConfiguration,
)
from cdktf_cdktf_provider_aws.cognito_user_pool_client import CognitoUserPoolClient
from constructs import Construct

from constructs_lib.user_auth.props import UserAuthProps as UserAuthProps
from constructs_lib.validation import check


class UserAuth(Construct):
    """Exposes what a JWT authorizer needs: `issuer` and `audience`."""

    def __init__(self, scope: Construct, id_: str, props: UserAuthProps):
        check(props, f"UserAuth '{props.name}'")
        super().__init__(scope, id_)
        self.user_pool: CognitoUserPool | None = None
        self.client: CognitoUserPoolClient | None = None
        if props.existing is not None:
            self.user_pool_id = props.existing.user_pool_id
            self.audience = list(props.existing.client_ids)
        else:
            self.user_pool = self._user_pool(props)
            # A browser app cannot keep a secret, so the client has none and uses SRP.
            self.client = CognitoUserPoolClient(
                self,
                "WebClient",
                name=f"{props.name}-web",
                user_pool_id=self.user_pool.id,
                generate_secret=False,
                explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                prevent_user_existence_errors="ENABLED",
            )
            self.user_pool_id = self.user_pool.id
            self.audience = [self.client.id]
        self.issuer = f"https://cognito-idp.{props.region}.amazonaws.com/{self.user_pool_id}"

    def _user_pool(self, props: UserAuthProps) -> CognitoUserPool:
        """Sign-in by email, optional TOTP MFA, a strong password policy, recovery by the
        verified email, who may sign up and how mail is sent, and the data's protection."""
        return CognitoUserPool(
            self,
            "UserPool",
            name=props.name,
            username_attributes=["email"],
            auto_verified_attributes=["email"],
            mfa_configuration="OPTIONAL",
            software_token_mfa_configuration=CognitoUserPoolSoftwareTokenMfaConfiguration(
                enabled=True
            ),
            password_policy=CognitoUserPoolPasswordPolicy(
                minimum_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_numbers=True,
                require_symbols=True,
                temporary_password_validity_days=7,
            ),
            account_recovery_setting=CognitoUserPoolAccountRecoverySetting(
                recovery_mechanism=[
                    CognitoUserPoolAccountRecoverySettingRecoveryMechanism(
                        name="verified_email", priority=1
                    )
                ]
            ),
            # Written out either way: who may create accounts is a decision, not a default.
            admin_create_user_config=CognitoUserPoolAdminCreateUserConfig(
                allow_admin_create_user_only=not props.self_sign_up
            ),
            email_configuration=CognitoUserPoolEmailConfiguration(
                email_sending_account="DEVELOPER",
                source_arn=props.email.source_arn,
                from_email_address=props.email.from_address,
            )
            if props.email
            else None,
            deletion_protection="ACTIVE" if props.protect_data else "INACTIVE",
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.protect_data),
        )
