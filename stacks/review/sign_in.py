"""Reviewers' sign-in: a Cognito user pool (no self sign-up, MFA), the reviewers group, the hosted UI for the
page (authorization code with PKCE, no client secret), and the app client the API's authorizer accepts."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from contracts.review_environment import REVIEWERS_GROUP

# The page gets an access token for one working session; it signs in again after that.
ACCESS_TOKEN_HOURS = 1


class ReviewerSignIn(Construct):
    """Who may open the review page: users an administrator created, in the reviewers group to resolve."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        callback_url: str,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,  # an administrator creates each reviewer
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            # Threat protection (compromised credentials, risky sign-ins) enforced: the Plus plan.
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            removal_policy=removal_policy,
        )
        self.reviewers = cognito.CfnUserPoolGroup(
            self,
            "Reviewers",
            user_pool_id=self.user_pool.user_pool_id,
            group_name=REVIEWERS_GROUP,
            description="May list and resolve flagged bins",
        )
        # The hosted UI's address: the prefix must be unique in the region, hence the account id.
        self.domain = self.user_pool.add_domain(
            "HostedUi",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=f"binventory-{stage}-review-{cdk.Aws.ACCOUNT_ID}"
            ),
        )
        self.client = self.user_pool.add_client(
            "Page",
            generate_secret=False,  # a browser page cannot keep a secret: PKCE protects the code instead
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID],
                callback_urls=[callback_url],
                logout_urls=[callback_url],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            access_token_validity=cdk.Duration.hours(ACCESS_TOKEN_HOURS),
            id_token_validity=cdk.Duration.hours(ACCESS_TOKEN_HOURS),
            refresh_token_validity=cdk.Duration.hours(12),
        )

    @property
    def hosted_ui_url(self) -> str:
        return self.domain.base_url()
