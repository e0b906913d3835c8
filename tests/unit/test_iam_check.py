"""The IAM check's own rules: a checker that allowed too much would let every principal's test pass."""

from __future__ import annotations

from typing import Any

import pytest
from iam_check.evaluation import Decision, Statement, UnsupportedCondition, decide
from iam_check.recording import AwsCall
from iam_check.requests import IamRequest, UnmappedOperation, requests_for
from iam_check.templates import Deployment

BUCKET_ARN = "arn:aws:s3:::photos"


def allow(action: Any, resource: Any, condition: dict[str, Any] | None = None, **more: Any) -> Statement:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource, **more}
    if condition:
        statement["Condition"] = condition
    return Statement.from_json(statement)


def test_actions_match_without_case_and_resources_with_case_and_wildcards_across_slashes() -> None:
    statements = [allow("S3:Get*", f"{BUCKET_ARN}/incoming/*")]

    assert (
        decide(statements, IamRequest("s3:GetObject", f"{BUCKET_ARN}/incoming/bin-1/a.jpg"))
        == Decision.ALLOWED
    )
    assert decide(statements, IamRequest("s3:PutObject", f"{BUCKET_ARN}/incoming/a.jpg")) != Decision.ALLOWED
    assert decide(statements, IamRequest("s3:GetObject", f"{BUCKET_ARN}/Incoming/a.jpg")) != Decision.ALLOWED
    assert decide(statements, IamRequest("s3:GetObject", f"{BUCKET_ARN}/metadata/a.json")) != Decision.ALLOWED


def test_an_explicit_deny_wins_and_no_statement_is_an_implicit_deny() -> None:
    deny = Statement.from_json({"Effect": "Deny", "Action": "s3:*", "Resource": "*"})
    request = IamRequest("s3:GetObject", f"{BUCKET_ARN}/a.jpg")

    assert decide([allow("s3:GetObject", "*"), deny], request) == Decision.EXPLICITLY_DENIED
    assert decide([], request) == Decision.IMPLICITLY_DENIED


def test_not_action_and_not_resource_allow_everything_else() -> None:
    statements = [
        Statement.from_json(
            {"Effect": "Allow", "NotAction": "s3:DeleteObject", "NotResource": f"{BUCKET_ARN}/x"}
        )
    ]

    assert decide(statements, IamRequest("s3:GetObject", f"{BUCKET_ARN}/a")) == Decision.ALLOWED
    assert decide(statements, IamRequest("s3:DeleteObject", f"{BUCKET_ARN}/a")) != Decision.ALLOWED
    assert decide(statements, IamRequest("s3:GetObject", f"{BUCKET_ARN}/x")) != Decision.ALLOWED


def test_an_action_without_resource_types_is_granted_only_by_a_star_resource() -> None:
    request = IamRequest("sagemaker:ListModelPackages", "*")

    assert decide([allow("sagemaker:ListModelPackages", "arn:aws:sagemaker:*")], request) != Decision.ALLOWED
    assert decide([allow("sagemaker:ListModelPackages", "*")], request) == Decision.ALLOWED


@pytest.mark.parametrize(
    ("condition", "context", "allowed"),
    [
        (
            {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            {"iam:PassedToService": "sagemaker.amazonaws.com"},
            True,
        ),
        (
            {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            {"iam:PassedToService": "lambda.amazonaws.com"},
            False,
        ),
        ({"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}, {}, False),
        ({"StringLike": {"s3:prefix": ["transform/*"]}}, {"s3:prefix": "transform/job/output/"}, True),
        ({"StringLike": {"s3:prefix": ["transform/*"]}}, {"s3:prefix": "models/"}, False),
        ({"StringNotEquals": {"aws:SourceAccount": "111"}}, {}, True),
        ({"StringEqualsIfExists": {"s3:prefix": "a/"}}, {}, True),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, False),
        (
            {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            {"CloudWatch:Namespace": "/aws/sagemaker/TrainingJobs"},
            True,
        ),
    ],
)
def test_conditions_hold_as_iam_evaluates_them(
    condition: dict[str, Any], context: dict[str, str], allowed: bool
) -> None:
    decision = decide([allow("x:Do", "*", condition)], IamRequest("x:Do", "r", context))

    assert (decision == Decision.ALLOWED) is allowed


def test_an_operator_the_evaluator_does_not_know_fails_loudly() -> None:
    with pytest.raises(UnsupportedCondition, match="NumericLessThan"):
        decide(
            [allow("x:Do", "*", {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}})],
            IamRequest("x:Do", "r", {"aws:MultiFactorAuthAge": "1"}),
        )


def _requests(service: str, operation: str, params: dict[str, Any], error: str | None = None) -> list[str]:
    return [
        f"{r.action} {r.resource}"
        for r in requests_for(AwsCall(service, operation, params, "us-east-1", error))
    ]


def test_a_transaction_is_authorized_per_item_on_its_own_table() -> None:
    items = [
        {"Put": {"TableName": "inventory", "Item": {}}},
        {"Update": {"TableName": "bin-state", "Key": {}}},
        {"ConditionCheck": {"TableName": "bin-state", "Key": {}}},
    ]

    assert _requests("dynamodb", "TransactWriteItems", {"TransactItems": items}) == [
        "dynamodb:PutItem arn:aws:dynamodb:us-east-1:123456789012:table/inventory",
        "dynamodb:UpdateItem arn:aws:dynamodb:us-east-1:123456789012:table/bin-state",
        "dynamodb:ConditionCheckItem arn:aws:dynamodb:us-east-1:123456789012:table/bin-state",
    ]


def test_a_missing_key_needs_list_bucket_and_a_version_needs_get_object_version() -> None:
    assert _requests("s3", "GetObject", {"Bucket": "photos", "Key": "m/1.json"}, error="NoSuchKey") == [
        "s3:GetObject arn:aws:s3:::photos/m/1.json",
        "s3:ListBucket arn:aws:s3:::photos",
    ]
    assert _requests("s3", "GetObject", {"Bucket": "photos", "Key": "a.jpg", "VersionId": "v1"}) == [
        "s3:GetObjectVersion arn:aws:s3:::photos/a.jpg"
    ]


def test_listing_object_versions_needs_list_bucket_versions_not_list_bucket() -> None:
    # `count backfill` lists a versioned ingest bucket's versions, which s3:ListBucket does not allow
    assert _requests("s3", "ListObjectVersions", {"Bucket": "photos", "Prefix": "bin-images/"}) == [
        "s3:ListBucketVersions arn:aws:s3:::photos"
    ]


def test_tagging_on_create_needs_add_tags_and_a_new_model_passes_its_role() -> None:
    config = {"EndpointConfigName": "Cfg-1", "ProductionVariants": [], "Tags": [{"Key": "k", "Value": "v"}]}
    model = {"ModelName": "m", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/sm"}

    assert _requests("sagemaker", "CreateEndpointConfig", config) == [
        "sagemaker:CreateEndpointConfig arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/cfg-1",
        "sagemaker:AddTags arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/cfg-1",
    ]
    assert (
        _requests("sagemaker", "CreateModel", model)[-1] == "iam:PassRole arn:aws:iam::123456789012:role/sm"
    )


def test_an_operation_without_a_rule_fails_the_check_instead_of_passing_unseen() -> None:
    with pytest.raises(UnmappedOperation, match=r"s3\.DeleteBucket"):
        requests_for(AwsCall("s3", "DeleteBucket", {"Bucket": "photos"}, "us-east-1"))


def test_templates_resolve_cross_stack_outputs_and_subs_with_the_deployed_names() -> None:
    storage = {
        "Resources": {
            "Photos": {"Type": "AWS::S3::Bucket", "Metadata": {"aws:cdk:path": "s/Buckets/Photos/Resource"}}
        },
        "Outputs": {"PhotosArn": {"Value": {"Fn::GetAtt": ["Photos", "Arn"]}}},
    }
    counting: dict[str, Any] = {"Resources": {}}
    deployment = Deployment({"s": storage, "c": counting}, names={"Buckets/Photos": "photos-1a2b"})

    value = {
        "Fn::Join": [
            "",
            [
                {"Fn::GetStackOutput": {"StackName": "s", "OutputName": "PhotosArn"}},
                {"Fn::Sub": "/${AWS::Region}/*"},
            ],
        ]
    }
    assert deployment.resolve("c", value) == "arn:aws:s3:::photos-1a2b/us-east-1/*"


def test_resource_policy_statements_decide_only_for_the_principals_they_name() -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:alarms"
    statements = [
        Statement.from_json(
            {
                "Effect": "Allow",
                "Principal": {"Service": ["events.amazonaws.com"]},
                "Action": "sns:Publish",
                "Resource": topic,
            }
        ),
        Statement.from_json(
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ),
    ]
    request = IamRequest("sns:Publish", topic, {"aws:SecureTransport": "true"})

    assert decide(statements, request, "Service:events.amazonaws.com") == Decision.ALLOWED
    assert decide(statements, request, "Service:cloudwatch.amazonaws.com") == Decision.IMPLICITLY_DENIED
    insecure = IamRequest("sns:Publish", topic, {"aws:SecureTransport": "false"})
    assert decide(statements, insecure, "Service:events.amazonaws.com") == Decision.EXPLICITLY_DENIED
