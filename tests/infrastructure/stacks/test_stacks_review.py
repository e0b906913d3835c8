"""The review construct: every /api route behind the Cognito JWT authorizer, the reviewers group the Lambda
checks, the sign-in pool's rules, short-lived photo links, and a role that can do only the review's work."""

from __future__ import annotations

from typing import Any

from stacks_testkit import SynthesizedApp, as_list, policy_statements, render, resources

from contracts import stack_outputs
from contracts.review_environment import PHOTO_URL_SECONDS, REVIEWERS_GROUP, ReviewEnv
from lambdas.review.configuration import load_configuration
from lambdas.review.web_assets import PAGE_FILES
from stacks.review.review_api import API_PATH, PUBLIC_PATHS
from stacks.review.review_function import HANDLER


def _only(app: SynthesizedApp, kind: str, prefix: str = "Review") -> tuple[str, dict[str, Any]]:
    (found,) = [(k, r) for k, r in resources(app.template("counting"), kind).items() if k.startswith(prefix)]
    return found


def test_every_api_route_needs_a_token_of_the_page_s_client_from_the_reviewers_pool(
    dev_app: SynthesizedApp,
) -> None:
    template = dev_app.template("counting")
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in resources(template, "AWS::ApiGatewayV2::Route").values()
    }
    authorizer_id, authorizer = _only(dev_app, "AWS::ApiGatewayV2::Authorizer")
    pool_id, _ = _only(dev_app, "AWS::Cognito::UserPool")
    client_id, _ = _only(dev_app, "AWS::Cognito::UserPoolClient")

    # every /api/ route: the JWT authorizer; only the page's own files are public
    api_routes = {key: route for key, route in routes.items() if " /api/" in key}
    assert set(api_routes) == {f"GET {API_PATH}", f"POST {API_PATH}"}
    for route in api_routes.values():
        assert (route["AuthorizationType"], route["AuthorizerId"]) == ("JWT", {"Ref": authorizer_id})
    public = {key for key, route in routes.items() if route.get("AuthorizationType", "NONE") == "NONE"}
    assert public == {f"GET {path}" for path in PUBLIC_PATHS} and set(PAGE_FILES) <= set(PUBLIC_PATHS)
    # the token must come from this pool (issuer) for the page's app client (audience)
    properties = authorizer["Properties"]
    assert properties["IdentitySource"] == ["$request.header.Authorization"]
    assert properties["JwtConfiguration"]["Audience"] == [{"Ref": client_id}]
    assert (
        render(properties["JwtConfiguration"]["Issuer"])
        == f"https://cognito-idp.us-east-1.amazonaws.com/<{pool_id}>"
    )


def test_the_lambda_checks_the_reviewers_group_the_pool_has_and_links_photos_for_minutes(
    dev_app: SynthesizedApp,
) -> None:
    _, function = _only(dev_app, "AWS::Lambda::Function", "ReviewFunction")
    _, group = _only(dev_app, "AWS::Cognito::UserPoolGroup")
    environment = function["Properties"]["Environment"]["Variables"]

    assert function["Properties"]["Handler"] == HANDLER == "review.handler.lambda_handler"
    assert group["Properties"]["GroupName"] == environment[ReviewEnv.REVIEWERS_GROUP] == REVIEWERS_GROUP
    assert environment[ReviewEnv.PHOTO_URL_SECONDS] == str(PHOTO_URL_SECONDS) and PHOTO_URL_SECONDS <= 600
    # and the Lambda accepts what the construct sets (names resolved as at deploy time)
    configuration = load_configuration({name: render(value) for name, value in environment.items()})
    assert configuration.sign_in is not None and configuration.photo_url_seconds == PHOTO_URL_SECONDS


def test_reviewers_are_created_by_an_administrator_with_a_strong_password_and_mfa(
    dev_app: SynthesizedApp,
) -> None:
    _, pool = _only(dev_app, "AWS::Cognito::UserPool")
    _, client = _only(dev_app, "AWS::Cognito::UserPoolClient")
    pool, client = pool["Properties"], client["Properties"]

    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["MfaConfiguration"] == "ON" and pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    assert pool["UserPoolAddOns"]["AdvancedSecurityMode"] == "ENFORCED"
    # the page: authorization code (with PKCE in the page), no secret, back to the API's own address
    assert (client["AllowedOAuthFlows"], client["GenerateSecret"]) == (["code"], False)
    assert [render(url) for url in client["CallbackURLs"]] == ["<ReviewHttpApi9858EFA4.ApiEndpoint>/"]


def test_the_review_role_reads_and_resolves_flags_presigns_photos_and_announces_nothing_more(
    dev_app: SynthesizedApp,
) -> None:
    statements = policy_statements(dev_app.template("counting"), "ReviewFunctionRole")
    granted = {
        (action, render(resource))
        for statement in statements
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }
    actions = {action for action, _ in granted}

    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListBucket",
        "events:PutEvents",
    }
    photos = {resource for action, resource in granted if action == "s3:GetObject"}
    assert {p.rsplit("/", 2)[-2] for p in photos} == {
        "incoming",
        "bin-images",
    }  # not metadata/, not other buckets
    assert not any(
        action.startswith("dynamodb:") and "BinState" in r and action == "dynamodb:Query"
        for action, r in granted
    )


def test_the_stage_logs_every_request_and_throttles_runaway_clients(dev_app: SynthesizedApp) -> None:
    _, stage = _only(dev_app, "AWS::ApiGatewayV2::Stage")
    properties = stage["Properties"]

    assert properties["StageName"] == "$default" and properties["AccessLogSettings"]["DestinationArn"]
    assert properties["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0


def test_the_page_s_address_is_a_stack_output(dev_app: SynthesizedApp) -> None:
    outputs = dev_app.template("counting")["Outputs"]
    assert {
        stack_outputs.REVIEW_URL,
        stack_outputs.REVIEW_USER_POOL_ID,
        stack_outputs.REVIEW_FUNCTION_NAME,
    } <= set(outputs)
