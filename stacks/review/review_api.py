"""The review API: an API Gateway HTTP API in front of the review Lambda.

The page's own files are public routes (the page must load before anyone can sign in); every /api/ route
needs a Cognito access token of the page's app client, checked by API Gateway's JWT authorizer (401 without).
The reviewers-group check is the Lambda's (403).
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks import checkov, nag
from stacks.counting.counter_function import RETENTION_BY_DAYS

# Paths of the page's files (lambdas/review/web_assets.PAGE_FILES) and its sign-in settings: public.
PUBLIC_PATHS = ("/", "/app.js", "/style.css", "/config.json")
API_PATH = "/api/{proxy+}"
# A few reviewers click through a queue: far below these, which stop a runaway script.
THROTTLE_RATE_PER_SECOND = 20
THROTTLE_BURST = 40


class ReviewApi(Construct):
    """The HTTP API; `route_to(function, ...)` connects the review Lambda once sign-in exists."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_retention_days: int,
        log_removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.http_api = apigw.HttpApi(
            self, "Api", description="Binventory review page and API", create_default_stage=False
        )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=RETENTION_BY_DAYS[log_retention_days],
            removal_policy=log_removal_policy,
        )
        self.stage = self.http_api.add_stage(
            "DefaultStage",
            stage_name="$default",
            auto_deploy=True,
            throttle=apigw.ThrottleSettings(rate_limit=THROTTLE_RATE_PER_SECOND, burst_limit=THROTTLE_BURST),
        )
        stage_resource = self.stage.node.default_child
        assert isinstance(stage_resource, apigw.CfnStage)
        stage_resource.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=self.access_logs.log_group_arn,
            format=json.dumps(
                {
                    "requestId": "$context.requestId",
                    "ip": "$context.identity.sourceIp",
                    "requestTime": "$context.requestTime",
                    "routeKey": "$context.routeKey",
                    "status": "$context.status",
                    "user": "$context.authorizer.claims.username",
                    "error": "$context.authorizer.error",
                    "latency": "$context.integrationLatency",
                }
            ),
        )
        checkov.skip(
            self.access_logs,
            "CKV_AWS_158",
            "CloudWatch Logs encrypts every log group at rest; access logs hold routes, status codes and "
            "reviewer names and no secrets.",
        )

    @property
    def url(self) -> str:
        """The page's address (the $default stage serves at the API's root)."""
        return self.http_api.api_endpoint + "/"

    def route_to(
        self, function: lambda_.IFunction, *, user_pool: cognito.IUserPool, client: cognito.IUserPoolClient
    ) -> authorizers.HttpUserPoolAuthorizer:
        """The page's files publicly, and /api/* behind the JWT authorizer, all to `function`."""
        integration = integrations.HttpLambdaIntegration("ReviewFunction", function)
        authorizer = authorizers.HttpUserPoolAuthorizer("Reviewers", user_pool, user_pool_clients=[client])
        for path in PUBLIC_PATHS:
            for route in self.http_api.add_routes(
                path=path, methods=[apigw.HttpMethod.GET], integration=integration
            ):
                nag.acknowledge(
                    route,
                    "AwsSolutions-APIG4",
                    "The page's static HTML, script and style and its public sign-in settings (hosted UI "
                    "URL, app client id) must load before anyone can sign in; they hold no inventory data, "
                    "and every /api/ route needs a Cognito token.",
                )
                checkov.skip(
                    route,
                    "CKV_AWS_309",
                    "Public on purpose: the page's files and sign-in settings, no data "
                    "(see AwsSolutions-APIG4).",
                )
        self.api_routes = self.http_api.add_routes(
            path=API_PATH,
            methods=[apigw.HttpMethod.GET, apigw.HttpMethod.POST],
            integration=integration,
            authorizer=authorizer,
        )
        return authorizer
