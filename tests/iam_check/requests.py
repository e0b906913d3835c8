"""What IAM authorizes for each API call: action, resource ARN and the condition keys the request carries.

One rule per operation the project uses, after the Service Authorization Reference ("Actions, resources,
and condition keys for ..."). An operation without a rule raises `UnmappedOperation`: a new call must get
its rule here before its test can pass, so no call goes unchecked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from iam_check.recording import AwsCall

ACCOUNT = "123456789012"
PARTITION = "aws"
# Every SDK call is made over HTTPS; bucket and queue policies deny anything else.
_TRANSPORT = {"aws:SecureTransport": "true"}
# S3 answers these when a key (or version) is not there; it says so only to a caller allowed s3:ListBucket.
_MISSING_OBJECT_CODES = {"NoSuchKey", "NoSuchVersion", "404", "NotFound"}


class UnmappedOperation(LookupError):
    """A recorded call has no rule here yet: add one, after the Service Authorization Reference."""


@dataclass(frozen=True)
class IamRequest:
    """One authorization AWS makes for a call."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        keys = "".join(f" [{key}={value}]" for key, value in sorted(self.context.items()))
        return f"{self.action} on {self.resource}{keys}"


def requests_for(call: AwsCall, *, account: str = ACCOUNT) -> list[IamRequest]:
    """The IAM requests AWS makes to authorize `call`."""
    rule = _RULES.get((call.service, call.operation))
    if rule is None:
        raise UnmappedOperation(
            f"no IAM rule for {call.service}.{call.operation}: add one to tests/iam_check/requests.py "
            "(see the Service Authorization Reference for its action, resource and condition keys)"
        )
    region = call.region or "us-east-1"
    return [
        IamRequest(action, resource, {**_TRANSPORT, **context})
        for action, resource, context in rule(call, _Arns(region, account))
    ]


@dataclass(frozen=True)
class _Arns:
    region: str
    account: str

    def of(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        where = f"{self.region if region else ''}:{self.account if account else ''}"
        return f"arn:{PARTITION}:{service}:{where}:{resource}"

    def table(self, name: str, index: str | None = None) -> str:
        name = name.rsplit("/", 1)[-1] if name.startswith("arn:") else name
        return self.of("dynamodb", f"table/{name}" + (f"/index/{index}" if index else ""))

    def sagemaker(self, resource_type: str, name: str) -> str:
        # SageMaker ARNs carry resource names in lower case.
        return self.of("sagemaker", f"{resource_type}/{name.lower()}")


def s3_object(bucket: str, key: str) -> str:
    return f"arn:{PARTITION}:s3:::{bucket}/{key}"


def s3_bucket(bucket: str) -> str:
    return f"arn:{PARTITION}:s3:::{bucket}"


_Grant = tuple[str, str, dict[str, str]]
_Rule = Callable[[AwsCall, _Arns], Iterable[_Grant]]


def _one(action: str, resource: Callable[[dict[str, Any], _Arns], str]) -> _Rule:
    return lambda call, arns: [(action, resource(call.params, arns), {})]


# --- S3 ---------------------------------------------------------------------------------------------
def _s3_read(call: AwsCall, arns: _Arns) -> Iterable[_Grant]:
    params = call.params
    action = "s3:GetObjectVersion" if params.get("VersionId") else "s3:GetObject"
    yield action, s3_object(params["Bucket"], params["Key"]), {}
    if call.error_code in _MISSING_OBJECT_CODES:
        # Without s3:ListBucket, S3 answers a missing key with 403 AccessDenied instead of 404.
        yield "s3:ListBucket", s3_bucket(params["Bucket"]), {"s3:prefix": params["Key"]}


def _s3_list(call: AwsCall, arns: _Arns) -> Iterable[_Grant]:
    action = "s3:ListBucketVersions" if call.operation == "ListObjectVersions" else "s3:ListBucket"
    yield action, s3_bucket(call.params["Bucket"]), {"s3:prefix": call.params.get("Prefix", "")}


def _s3_write(call: AwsCall, arns: _Arns) -> Iterable[_Grant]:
    yield "s3:PutObject", s3_object(call.params["Bucket"], call.params["Key"]), {}


def _s3_copy(call: AwsCall, arns: _Arns) -> Iterable[_Grant]:
    # A copy reads the source (the version named, if any) and writes the target.
    source = call.params["CopySource"]
    action = "s3:GetObjectVersion" if source.get("VersionId") else "s3:GetObject"
    yield action, s3_object(source["Bucket"], source["Key"]), {}
    yield "s3:PutObject", s3_object(call.params["Bucket"], call.params["Key"]), {}


def _s3_delete_many(call: AwsCall, arns: _Arns) -> Iterable[_Grant]:
    for entry in call.params["Delete"]["Objects"]:
        action = "s3:DeleteObjectVersion" if entry.get("VersionId") else "s3:DeleteObject"
        yield action, s3_object(call.params["Bucket"], entry["Key"]), {}


def _s3_bucket_action(action: str) -> _Rule:
    return _one(action, lambda params, arns: s3_bucket(params["Bucket"]))


# --- DynamoDB ---------------------------------------------------------------------------------------
_TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def _transact_write(call: AwsCall, arns: _Arns) -> Iterable[_Grant]:
    # Authorized per item, with the item-level action on that item's table.
    for item in call.params["TransactItems"]:
        ((kind, request),) = item.items()
        yield _TRANSACT_ACTIONS[kind], arns.table(request["TableName"]), {}


def _per_table(action: str, key: str) -> _Rule:
    return lambda call, arns: [(action, arns.table(table), {}) for table in call.params[key]]


def _table_action(action: str) -> _Rule:
    return lambda call, arns: [
        (action, arns.table(call.params["TableName"], call.params.get("IndexName")), {})
    ]


# --- SageMaker --------------------------------------------------------------------------------------
def _sagemaker(action: str, resource_type: str, name_param: str) -> _Rule:
    def rule(call: AwsCall, arns: _Arns) -> Iterable[_Grant]:
        resource = arns.sagemaker(resource_type, call.params[name_param])
        yield action, resource, {}
        if call.params.get("Tags"):
            # Tagging on create is authorized as sagemaker:AddTags on the new resource as well.
            yield "sagemaker:AddTags", resource, {}

    return rule


def _sagemaker_any(action: str) -> _Rule:
    """Actions the Service Authorization Reference lists with no resource type: only `*` grants them."""
    return lambda call, arns: [(action, "*", {})]


def _model_package(params: dict[str, Any], arns: _Arns) -> str:
    name = params["ModelPackageName"]
    return name if name.startswith("arn:") else arns.sagemaker("model-package", name)


def _create_model(call: AwsCall, arns: _Arns) -> Iterable[_Grant]:
    yield from _sagemaker("sagemaker:CreateModel", "model", "ModelName")(call, arns)
    # Creating a model hands SageMaker its execution role.
    yield "iam:PassRole", call.params["ExecutionRoleArn"], {"iam:PassedToService": "sagemaker.amazonaws.com"}


def _list_tags(call: AwsCall, arns: _Arns) -> Iterable[_Grant]:
    yield "sagemaker:ListTags", call.params["ResourceArn"], {}


# --- the rest ---------------------------------------------------------------------------------------
def _put_events(call: AwsCall, arns: _Arns) -> Iterable[_Grant]:
    for entry in call.params["Entries"]:
        bus = entry.get("EventBusName", "default")
        yield "events:PutEvents", bus if bus.startswith("arn:") else arns.of("events", f"event-bus/{bus}"), {}


def _queue(action: str) -> _Rule:
    def rule(call: AwsCall, arns: _Arns) -> Iterable[_Grant]:
        url = urlparse(call.params["QueueUrl"])
        account, name = url.path.strip("/").split("/")[-2:]
        yield action, f"arn:{PARTITION}:sqs:{arns.region}:{account}:{name}", {}

    return rule


def _stack(call: AwsCall, arns: _Arns) -> Iterable[_Grant]:
    name = call.params.get("StackName", "*")
    resource = name if name.startswith("arn:") else arns.of("cloudformation", f"stack/{name}/*")
    yield "cloudformation:DescribeStacks", resource, {}


def _parameter(action: str) -> _Rule:
    # arn:aws:ssm:<region>:<account>:parameter/<name without its leading slash>
    return _one(action, lambda params, arns: arns.of("ssm", f"parameter/{params['Name'].lstrip('/')}"))


def _state_machine(action: str) -> _Rule:
    return _one(action, lambda params, arns: params["stateMachineArn"])


def _execution(action: str) -> _Rule:
    return _one(action, lambda params, arns: params["executionArn"])


def _log_group(action: str) -> _Rule:
    def rule(call: AwsCall, arns: _Arns) -> Iterable[_Grant]:
        group = call.params["logGroupName"]
        stream = call.params.get("logStreamName")
        resource = f"log-group:{group}" + (f":log-stream:{stream}" if stream else ":*")
        yield action, arns.of("logs", resource), {}

    return rule


_RULES: dict[tuple[str, str], _Rule] = {
    # S3
    ("s3", "GetObject"): _s3_read,
    ("s3", "HeadObject"): _s3_read,
    ("s3", "PutObject"): _s3_write,
    ("s3", "CopyObject"): _s3_copy,
    ("s3", "CreateMultipartUpload"): _s3_write,
    ("s3", "UploadPart"): _s3_write,
    ("s3", "CompleteMultipartUpload"): _s3_write,
    ("s3", "ListObjectsV2"): _s3_list,
    ("s3", "ListObjects"): _s3_list,
    ("s3", "ListObjectVersions"): _s3_list,
    ("s3", "DeleteObjects"): _s3_delete_many,
    ("s3", "GetBucketVersioning"): _s3_bucket_action("s3:GetBucketVersioning"),
    # DynamoDB
    ("dynamodb", "GetItem"): _table_action("dynamodb:GetItem"),
    ("dynamodb", "PutItem"): _table_action("dynamodb:PutItem"),
    ("dynamodb", "UpdateItem"): _table_action("dynamodb:UpdateItem"),
    ("dynamodb", "DeleteItem"): _table_action("dynamodb:DeleteItem"),
    ("dynamodb", "Query"): _table_action("dynamodb:Query"),
    ("dynamodb", "Scan"): _table_action("dynamodb:Scan"),
    ("dynamodb", "BatchGetItem"): _per_table("dynamodb:BatchGetItem", "RequestItems"),
    ("dynamodb", "BatchWriteItem"): _per_table("dynamodb:BatchWriteItem", "RequestItems"),
    ("dynamodb", "TransactWriteItems"): _transact_write,
    # SageMaker runtime and SageMaker
    ("sagemaker-runtime", "InvokeEndpoint"): _sagemaker(
        "sagemaker:InvokeEndpoint", "endpoint", "EndpointName"
    ),
    ("sagemaker", "DescribeEndpoint"): _sagemaker("sagemaker:DescribeEndpoint", "endpoint", "EndpointName"),
    ("sagemaker", "UpdateEndpoint"): lambda call, arns: [
        ("sagemaker:UpdateEndpoint", arns.sagemaker("endpoint", call.params["EndpointName"]), {}),
        # The endpoint is switched to the named configuration, which is authorized too.
        (
            "sagemaker:UpdateEndpoint",
            arns.sagemaker("endpoint-config", call.params["EndpointConfigName"]),
            {},
        ),
    ],
    ("sagemaker", "DescribeEndpointConfig"): _sagemaker(
        "sagemaker:DescribeEndpointConfig", "endpoint-config", "EndpointConfigName"
    ),
    ("sagemaker", "CreateEndpointConfig"): _sagemaker(
        "sagemaker:CreateEndpointConfig", "endpoint-config", "EndpointConfigName"
    ),
    ("sagemaker", "CreateModel"): _create_model,
    ("sagemaker", "DescribeModel"): _sagemaker("sagemaker:DescribeModel", "model", "ModelName"),
    ("sagemaker", "DeleteModel"): _sagemaker("sagemaker:DeleteModel", "model", "ModelName"),
    ("sagemaker", "ListModelPackages"): _sagemaker_any("sagemaker:ListModelPackages"),
    ("sagemaker", "ListTrainingJobs"): _sagemaker_any("sagemaker:ListTrainingJobs"),
    ("sagemaker", "ListTransformJobs"): _sagemaker_any("sagemaker:ListTransformJobs"),
    ("sagemaker", "ListEndpoints"): _sagemaker_any("sagemaker:ListEndpoints"),
    ("sagemaker", "DescribeModelPackage"): _one("sagemaker:DescribeModelPackage", _model_package),
    ("sagemaker", "UpdateModelPackage"): _one(
        "sagemaker:UpdateModelPackage", lambda params, arns: params["ModelPackageArn"]
    ),
    ("sagemaker", "CreateTransformJob"): _sagemaker(
        "sagemaker:CreateTransformJob", "transform-job", "TransformJobName"
    ),
    ("sagemaker", "DescribeTransformJob"): _sagemaker(
        "sagemaker:DescribeTransformJob", "transform-job", "TransformJobName"
    ),
    ("sagemaker", "DescribeTrainingJob"): _sagemaker(
        "sagemaker:DescribeTrainingJob", "training-job", "TrainingJobName"
    ),
    ("sagemaker", "DescribeHyperParameterTuningJob"): _sagemaker(
        "sagemaker:DescribeHyperParameterTuningJob",
        "hyper-parameter-tuning-job",
        "HyperParameterTuningJobName",
    ),
    ("sagemaker", "ListTags"): _list_tags,
    # EventBridge, SQS, CloudFormation, Step Functions, CloudWatch Logs
    ("events", "PutEvents"): _put_events,
    ("sqs", "ReceiveMessage"): _queue("sqs:ReceiveMessage"),
    ("sqs", "DeleteMessage"): _queue("sqs:DeleteMessage"),
    ("sqs", "SendMessage"): _queue("sqs:SendMessage"),
    # A batch call is authorized by its single call's action.
    ("sqs", "SendMessageBatch"): _queue("sqs:SendMessage"),
    ("sqs", "DeleteMessageBatch"): _queue("sqs:DeleteMessage"),
    ("sqs", "ChangeMessageVisibility"): _queue("sqs:ChangeMessageVisibility"),
    ("sqs", "ChangeMessageVisibilityBatch"): _queue("sqs:ChangeMessageVisibility"),
    ("sqs", "GetQueueAttributes"): _queue("sqs:GetQueueAttributes"),
    # The CloudWatch API reference lists no resource type for GetMetricData: only `*` grants it.
    ("cloudwatch", "GetMetricData"): _sagemaker_any("cloudwatch:GetMetricData"),
    ("sqs", "GetQueueUrl"): lambda call, arns: [
        (
            "sqs:GetQueueUrl",
            f"arn:{PARTITION}:sqs:{arns.region}:"
            f"{call.params.get('QueueOwnerAWSAccountId', arns.account)}:{call.params['QueueName']}",
            {},
        )
    ],
    ("cloudformation", "DescribeStacks"): _stack,
    ("ssm", "PutParameter"): _parameter("ssm:PutParameter"),
    ("ssm", "GetParameter"): _parameter("ssm:GetParameter"),
    # "No permissions are required to perform this operation" (STS API reference, GetCallerIdentity).
    ("sts", "GetCallerIdentity"): lambda call, arns: [],
    ("stepfunctions", "StartExecution"): _state_machine("states:StartExecution"),
    ("stepfunctions", "ListExecutions"): _state_machine("states:ListExecutions"),
    ("stepfunctions", "DescribeExecution"): _execution("states:DescribeExecution"),
    ("logs", "DescribeLogStreams"): _log_group("logs:DescribeLogStreams"),
    ("logs", "GetLogEvents"): _log_group("logs:GetLogEvents"),
    ("logs", "FilterLogEvents"): _log_group("logs:FilterLogEvents"),
}
