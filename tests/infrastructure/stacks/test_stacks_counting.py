"""The counting stack: queue, Lambda, its least-privilege role, the endpoint in both modes, alarms."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from stacks_testkit import (
    MODEL_PACKAGE_ARN,
    REPO_ROOT,
    SynthesizedApp,
    as_list,
    context_with,
    only_resource,
    policy_statements,
    render,
    resources,
    synthesize,
)

from contracts import inventory_schema, stack_outputs
from contracts.counter_environment import LambdaEnv
from contracts.deployment_settings import load_settings
from lambdas.counter.configuration import load_configuration
from lambdas.counter.dal import inventory
from stacks.counting.counter_function import HANDLER, POWERTOOLS_LAYER_PARAMETER
from stacks.counting.endpoint import EndpointConstruct

SERVED_PARAMETER = "/binventory/%s/counting/served-model-package"
ENDPOINT_RESOURCES = ("AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint")


def _function(app: SynthesizedApp) -> dict[str, Any]:
    (function,) = [
        resource
        for key, resource in resources(app.template("counting"), "AWS::Lambda::Function").items()
        if key.startswith("CounterFunction")
    ]
    return function["Properties"]


def _lambda_statements(app: SynthesizedApp) -> list[dict[str, Any]]:
    return policy_statements(app.template("counting"), "CounterRoleDefaultPolicy")


def _resources_for(statements: list[dict[str, Any]], action: str) -> list[str]:
    return sorted(
        render(resource)
        for statement in statements
        if action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    )


def test_lambda_runs_the_counter_handler_on_python_312_with_the_public_powertools_layer(
    dev_app: SynthesizedApp,
) -> None:
    function = _function(dev_app)
    template = dev_app.template("counting")

    assert function["Runtime"] == "python3.12"
    assert function["Handler"] == HANDLER == "counter.handler.lambda_handler"
    assert function["TracingConfig"] == {"Mode": "Active"}
    (layer,) = function["Layers"]
    parameter = template["Parameters"][layer["Ref"]]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert parameter["Default"] == POWERTOOLS_LAYER_PARAMETER


def test_powertools_layer_is_the_version_the_tests_run_with(dev_app: SynthesizedApp) -> None:
    # given the Powertools version requirements.txt pins (what the Lambda's tests import)
    (pin,) = re.findall(
        r"^aws-lambda-powertools(?:\[[\w,]+\])?==([\w.]+)$",
        (REPO_ROOT / "requirements.txt").read_text(),
        re.M,
    )
    function = _function(dev_app)

    # then the layer is resolved from that version's public parameter, for the function's runtime and CPU
    (layer,) = function["Layers"]
    parameter = dev_app.template("counting")["Parameters"][layer["Ref"]]["Default"]
    architecture = function.get("Architectures", ["x86_64"])[0]
    assert parameter == f"/aws/service/powertools/python/{architecture}/{function['Runtime']}/{pin}"


def test_lambda_environment_names_its_resources_by_the_schema_variables(dev_app: SynthesizedApp) -> None:
    variables = _function(dev_app)["Environment"]["Variables"]
    settings = dev_app.settings.counting

    assert set(variables) == {
        LambdaEnv.INVENTORY_TABLE,
        LambdaEnv.BIN_STATE_TABLE,
        LambdaEnv.ENDPOINT_NAME,
        LambdaEnv.EVENT_BUS_NAME,
        LambdaEnv.WRONG_RECORD_RATE,
        LambdaEnv.LOOK_COST,
        LambdaEnv.MISSED_ERROR_COST,
        LambdaEnv.MAX_IMAGE_BYTES,
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
    }
    assert variables[LambdaEnv.ENDPOINT_NAME] == "binventory-dev-counter"
    assert variables[LambdaEnv.WRONG_RECORD_RATE] == str(settings.decision.wrong_record_rate)
    assert variables[LambdaEnv.MAX_IMAGE_BYTES] == str(settings.max_image_bytes)


def test_the_lambda_reads_back_the_environment_the_stack_deploys(dev_app: SynthesizedApp) -> None:
    # given the function's variables as deployed (CloudFormation fills the table and bus names in)
    deployed = {
        name: value if isinstance(value, str) else f"<{name} resolved at deploy time>"
        for name, value in _function(dev_app)["Environment"]["Variables"].items()
    }

    # when the Lambda reads them at cold start
    configuration = load_configuration(deployed)

    # then it is configured with the settings the stack was synthesized from
    settings = dev_app.settings.counting
    assert configuration.endpoint_name == "binventory-dev-counter"
    assert (configuration.decision, configuration.max_image_bytes) == (
        settings.decision,
        settings.max_image_bytes,
    )


def test_a_warehouse_s_own_costs_reach_the_lambda(tmp_path: Path) -> None:
    app = synthesize(
        {
            "binventory.counting.decision.look_cost": 1.2,
            "binventory.counting.decision.wrong_record_rate": 0.3,
        },
        tmp_path,
    )

    configuration = load_configuration(
        {
            k: v if isinstance(v, str) else "resolved"
            for k, v in _function(app)["Environment"]["Variables"].items()
        }
    )

    assert (configuration.decision.look_cost, configuration.decision.wrong_record_rate) == (1.2, 0.3)


def test_lambda_reads_the_queue_in_batches_and_reports_single_failures(dev_app: SynthesizedApp) -> None:
    mapping = only_resource(dev_app.template("counting"), "AWS::Lambda::EventSourceMapping")["Properties"]
    settings = dev_app.settings.counting

    assert mapping["BatchSize"] == settings.batch_size
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": settings.max_concurrency}


def test_ingest_queue_redrives_to_an_encrypted_dead_letter_queue(dev_app: SynthesizedApp) -> None:
    queues = resources(dev_app.template("counting"), "AWS::SQS::Queue")
    (queue,) = [q["Properties"] for key, q in queues.items() if key.startswith("IngestQueue")]
    settings = dev_app.settings.counting

    assert queue["RedrivePolicy"]["maxReceiveCount"] == settings.max_receive_count
    assert (
        queue["VisibilityTimeout"]
        == settings.visibility_timeout_seconds
        == 6 * settings.lambda_timeout_seconds
    )
    for properties in (q["Properties"] for q in queues.values()):
        assert properties["SqsManagedSseEnabled"] is True


def test_a_stage_that_retains_its_data_keeps_its_queues_when_the_stack_goes(
    dev_app: SynthesizedApp, prod_app: SynthesizedApp
) -> None:
    prod_queues = resources(prod_app.template("counting"), "AWS::SQS::Queue").values()
    dev_queues = resources(dev_app.template("counting"), "AWS::SQS::Queue").values()

    # prod (storage.removal_policy retain): the photos waiting and those parked as failed survive a teardown
    assert [(q["DeletionPolicy"], q["UpdateReplacePolicy"]) for q in prod_queues] == [
        ("Retain", "Retain")
    ] * 2
    assert {q["DeletionPolicy"] for q in dev_queues} == {"Delete"}


def test_queues_refuse_requests_without_tls(dev_app: SynthesizedApp) -> None:
    policies = resources(dev_app.template("counting"), "AWS::SQS::QueuePolicy").values()
    guarded = {
        queue["Ref"]
        for policy in policies
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for queue in policy["Properties"]["Queues"]
    }

    assert guarded == set(resources(dev_app.template("counting"), "AWS::SQS::Queue"))


def test_photos_under_the_notified_prefixes_and_nothing_else_reach_the_queue(dev_app: SynthesizedApp) -> None:
    notifications = only_resource(dev_app.template("counting"), "Custom::S3BucketNotifications")["Properties"]

    configurations = notifications["NotificationConfiguration"]["QueueConfigurations"]
    prefixes = sorted(
        rule["Value"] for config in configurations for rule in config["Filter"]["Key"]["FilterRules"]
    )
    assert prefixes == sorted(inventory_schema.NOTIFIED_PREFIXES)
    assert inventory_schema.ABID_METADATA_PREFIX not in prefixes
    assert {config["Events"][0] for config in configurations} == {"s3:ObjectCreated:*"}


def test_lambda_role_has_no_wildcard_actions(dev_app: SynthesizedApp) -> None:
    actions = [action for statement in _lambda_statements(dev_app) for action in as_list(statement["Action"])]

    assert actions
    assert not [action for action in actions if "*" in action]


def test_lambda_may_invoke_only_this_stages_endpoint_by_name(dev_app: SynthesizedApp) -> None:
    statements = _lambda_statements(dev_app)

    assert _resources_for(statements, "sagemaker:InvokeEndpoint") == [
        "arn:aws:sagemaker:us-east-1:123456789012:endpoint/binventory-dev-counter"
    ]
    assert [a for s in statements for a in as_list(s["Action"]) if a.startswith("sagemaker:")] == [
        "sagemaker:InvokeEndpoint"
    ]


def test_lambda_reads_only_photos_and_metadata_of_the_ingest_bucket(dev_app: SynthesizedApp) -> None:
    statements = _lambda_statements(dev_app)

    s3_actions = sorted({a for s in statements for a in as_list(s["Action"]) if a.startswith("s3:")})
    assert s3_actions == ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"]
    object_resources = _resources_for(statements, "s3:GetObject")
    bucket = "<PublishOutputFnGetAttBucketsIngest"
    assert all(resource.startswith(bucket) for resource in object_resources)
    assert sorted(resource.split(">/", 1)[1] for resource in object_resources) == sorted(
        f"{prefix}*"
        for prefix in (*inventory_schema.NOTIFIED_PREFIXES, inventory_schema.ABID_METADATA_PREFIX)
    )


def test_lambda_writes_only_its_two_tables(dev_app: SynthesizedApp) -> None:
    statements = _lambda_statements(dev_app)

    dynamodb_resources = {
        render(resource)
        for statement in statements
        if any(action.startswith("dynamodb:") for action in as_list(statement["Action"]))
        for resource in as_list(statement["Resource"])
    }
    # Cross-stack references to the two table ARNs, and no index ARNs.
    assert len(dynamodb_resources) == 2
    assert any("TablesInventory" in resource for resource in dynamodb_resources)
    assert any("TablesBinState" in resource for resource in dynamodb_resources)
    assert not [resource for resource in dynamodb_resources if "index" in resource]
    assert "dynamodb:PutItem" in [a for s in statements for a in as_list(s["Action"])]


# TransactWriteItems is authorized by the actions of the items it holds (IAM has no action of its own): the
# repository's transaction puts the record and updates the bin state (checked per table: test_counter_iam.py).
_TRANSACTION_ITEM_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem")


def _dynamodb_actions_the_repository_calls() -> set[str]:
    """`self.dynamodb.batch_get_item(` in the repository's source -> `dynamodb:BatchGetItem`, and so on."""
    operations = re.findall(r"self\.dynamodb\.(\w+)\(", Path(inventory.__file__).read_text())
    actions: set[str] = set()
    for operation in operations:
        if operation == "transact_write_items":
            actions.update(_TRANSACTION_ITEM_ACTIONS)
        else:
            actions.add("dynamodb:" + "".join(word.title() for word in operation.split("_")))
    return actions


def test_lambda_role_allows_every_dynamodb_call_the_repository_makes_on_both_tables(
    dev_app: SynthesizedApp,
) -> None:
    statements = _lambda_statements(dev_app)
    called = _dynamodb_actions_the_repository_calls()

    assert "dynamodb:BatchGetItem" in called, "the repository reads a batch's known state in one call"
    for action in sorted(called):
        tables = _resources_for(statements, action)
        assert tables, f"the counting Lambda calls {action} but its role does not allow it"
    # One BatchGetItem reads both tables: the bins' expected quantities and the records already made.
    batch_tables = _resources_for(statements, "dynamodb:BatchGetItem")
    assert any("TablesInventory" in table for table in batch_tables)
    assert any("TablesBinState" in table for table in batch_tables)


# What the handler's own code calls, by IAM service prefix, as the checkov skip for CKV_AWS_117 must name it.
# CloudWatch Logs and X-Ray are left out: the Lambda runtime writes the logs and trace segments, not the code.
_CALLED_SERVICES = {
    "s3": "S3",
    "dynamodb": "DynamoDB",
    "sagemaker": "SageMaker runtime",
    "events": "EventBridge",
    "sqs": "SQS",
}


def test_the_reason_the_lambda_needs_no_vpc_names_every_service_its_role_reaches(
    dev_app: SynthesizedApp,
) -> None:
    # given the services the counting Lambda's role may call (a deferred message goes back by SendMessage)
    actions = [action for statement in _lambda_statements(dev_app) for action in as_list(statement["Action"])]
    prefixes = {action.split(":", 1)[0] for action in actions} - {"logs", "xray"}
    (function,) = [
        resource
        for key, resource in resources(dev_app.template("counting"), "AWS::Lambda::Function").items()
        if key.startswith("CounterFunction")
    ]
    (reason,) = [
        skip["comment"] for skip in function["Metadata"]["checkov"]["skip"] if skip["id"] == "CKV_AWS_117"
    ]

    # then the skip's reason is true: it names each of them, so a reviewer sees all the Lambda reaches
    assert prefixes <= set(_CALLED_SERVICES), prefixes
    unnamed = [name for prefix, name in _CALLED_SERVICES.items() if prefix in prefixes and name not in reason]
    assert unnamed == []


def test_events_go_only_to_the_stacks_own_bus(dev_app: SynthesizedApp) -> None:
    (bus_id,) = resources(dev_app.template("counting"), "AWS::Events::EventBus")

    assert _resources_for(_lambda_statements(dev_app), "events:PutEvents") == [f"<{bus_id}.Arn>"]


def _sdk_call(resource: dict[str, Any], phase: str) -> dict[str, Any] | None:
    """The SDK call an AwsCustomResource makes on `Create`, `Update` or `Delete` (None: no call)."""
    call = resource["Properties"].get(phase)
    return None if call is None else json.loads(call if isinstance(call, str) else render(call))


def _sdk_calls(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources(template, "Custom::AWS")


def test_without_a_model_package_arn_the_endpoint_serves_the_package_the_parameter_records(
    dev_app: SynthesizedApp,
) -> None:
    template = dev_app.template("counting")

    # every endpoint resource and endpoint alarm is there, deployed only while the parameter names a package
    (condition,) = {
        resource["Condition"]
        for resource in template["Resources"].values()
        if resource["Type"] in ENDPOINT_RESOURCES
    }
    (parameter_id,) = [
        key for key, value in template["Parameters"].items() if value["Default"] == SERVED_PARAMETER % "dev"
    ]
    assert template["Parameters"][parameter_id]["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert template["Conditions"][condition] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": parameter_id}, stack_outputs.NO_SERVED_MODEL]}]
    }
    model = only_resource(template, "AWS::SageMaker::Model")["Properties"]
    assert model["PrimaryContainer"] == {"ModelPackageName": {"Ref": parameter_id}}
    endpoint_alarms = [
        alarm
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        if "Invocation5XXErrors" in json.dumps(alarm) or "ModelLatency" in json.dumps(alarm)
    ]
    assert endpoint_alarms and all(alarm["Condition"] == condition for alarm in endpoint_alarms)
    # the outputs say which: the model's name while one is served, else how to deploy the first one
    outputs = template["Outputs"]
    assert outputs[stack_outputs.COUNTER_MODEL_NAME]["Condition"] == condition
    hint = outputs[stack_outputs.ENDPOINT_DEPLOY_HINT]
    assert template["Conditions"][hint["Condition"]] == {"Fn::Not": [{"Condition": condition}]}
    assert "npx cdk deploy binventory-dev-counting -c model_package_arn=" in hint["Value"]


@pytest.mark.parametrize("stage", ["dev", "prod"])
@pytest.mark.parametrize("mode", ["serverless", "realtime"])
@pytest.mark.parametrize("with_arn", [False, True], ids=["plain deploy", "-c model_package_arn"])
def test_no_setting_combination_drops_the_endpoint_of_a_stage_that_serves_one(
    stage: str, mode: str, with_arn: bool, tmp_path: Path
) -> None:
    # given a stage whose endpoint serves a package (recorded in its parameter by a deploy or a promotion)
    arn = MODEL_PACKAGE_ARN.replace("binventory-prod", f"binventory-{stage}")
    overrides = {"stage": stage, "binventory.endpoint.mode": mode}
    if with_arn:
        overrides["model_package_arn"] = arn

    # when the counting stack is synthesized with these settings
    app = synthesize(overrides, tmp_path)
    template = app.template("counting")

    # then the endpoint is in the template, and its only condition is that the parameter names a package
    for resource_type in ENDPOINT_RESOURCES:
        resource = only_resource(template, resource_type)
        if with_arn:
            assert "Condition" not in resource
        else:
            expression = template["Conditions"][resource["Condition"]]
            (parameter,) = re.findall(r'"Ref": "(\w+)"', json.dumps(expression))
            assert template["Parameters"][parameter]["Default"] == SERVED_PARAMETER % stage
    assert only_resource(template, "AWS::SageMaker::Endpoint")["Properties"]["EndpointName"] == (
        f"binventory-{stage}-counter"
    )


def test_a_deploy_that_names_a_package_records_it_for_the_deploys_after_it(prod_app: SynthesizedApp) -> None:
    (record,) = [
        resource
        for key, resource in _sdk_calls(prod_app.template("counting")).items()
        if key.startswith("EndpointRecordServedPackage")
    ]

    for phase in ("Create", "Update"):
        call = _sdk_call(record, phase)
        assert call is not None
        assert call["action"] == "putParameter"
        assert call["parameters"] == {
            "Name": SERVED_PARAMETER % "prod",
            "Value": MODEL_PACKAGE_ARN,
            "Type": "String",
            "Overwrite": True,
        }
    assert _sdk_call(record, "Delete") is None, "a later plain deploy must leave the record as it is"


def test_the_training_stack_creates_the_record_only_where_none_exists(dev_app: SynthesizedApp) -> None:
    (record,) = _sdk_calls(dev_app.template("training")).values()

    create = _sdk_call(record, "Create")
    assert create is not None
    assert create["parameters"]["Name"] == SERVED_PARAMETER % "dev"
    assert create["parameters"]["Value"] == stack_outputs.NO_SERVED_MODEL
    assert create["parameters"]["Overwrite"] is False
    assert create["ignoreErrorCodesMatching"] == "ParameterAlreadyExists"
    # never written again by CloudFormation: a promotion's value survives every later deploy
    assert _sdk_call(record, "Update") is None and _sdk_call(record, "Delete") is None


def test_a_real_time_variant_is_deregistered_before_the_endpoint_updates_and_registered_after(
    prod_app: SynthesizedApp,
) -> None:
    template = prod_app.template("counting")
    calls = {key: resource for key, resource in _sdk_calls(template).items() if "Scaling" in key}
    (endpoint_id,) = resources(template, "AWS::SageMaker::Endpoint")
    endpoint = template["Resources"][endpoint_id]
    instance_type = prod_app.settings.endpoint.instance_type

    def call_named(action: str) -> tuple[str, dict[str, Any]]:
        ((key, resource),) = [
            (key, resource)
            for key, resource in calls.items()
            if _sdk_call(resource, "Update")["action"] == action
        ]
        return key, resource

    release_id, release = call_named("deregisterScalableTarget")
    register_id, register = call_named("registerScalableTarget")
    put_policy_id, put_policy = call_named("putScalingPolicy")
    # each runs when the instance type changes (its physical id names it), and on create only reads
    for resource in (release, register, put_policy):
        update = _sdk_call(resource, "Update")
        assert update["physicalResourceId"]["id"].endswith(f"@{instance_type}")
        assert _sdk_call(resource, "Create")["action"] == "describeScalableTargets"
    assert _sdk_call(release, "Update")["parameters"]["ResourceId"] == (
        "endpoint/binventory-prod-counter/variant/AllTraffic"
    )
    # order: deregister -> UpdateEndpoint -> register -> put the policy CloudFormation made, as it made it
    assert release_id in endpoint["DependsOn"]
    assert endpoint_id in template["Resources"][register_id]["DependsOn"]
    assert register_id in template["Resources"][put_policy_id]["DependsOn"]
    policy = only_resource(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    put = _sdk_call(put_policy, "Update")["parameters"]
    assert put["PolicyName"] == policy["Properties"]["PolicyName"]
    tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert put["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == tracking["TargetValue"]
    assert put["TargetTrackingScalingPolicyConfiguration"]["ScaleInCooldown"] == tracking["ScaleInCooldown"]


def test_the_deploy_path_says_that_only_an_approved_package_deploys(
    dev_app: SynthesizedApp, prod_app: SynthesizedApp
) -> None:
    hint = dev_app.template("counting")["Outputs"][stack_outputs.ENDPOINT_DEPLOY_HINT]["Value"]

    assert "model_package_arn=<ModelPackageArn of an Approved version>" in hint
    for app in (dev_app, prod_app):
        assertions.Annotations.from_stack(app.stacks.counting).has_info(
            "*", assertions.Match.string_like_regexp("SageMaker deploys only an Approved model package")
        )


def test_with_a_model_the_package_is_deployed_behind_the_stable_endpoint_name(
    prod_app: SynthesizedApp,
) -> None:
    template = prod_app.template("counting")

    model = only_resource(template, "AWS::SageMaker::Model")["Properties"]
    # One container is the primary container, as the SageMaker SDK writes it (Containers is for pipelines).
    assert model["PrimaryContainer"] == {"ModelPackageName": MODEL_PACKAGE_ARN}
    assert "Containers" not in model
    # the container reaches nothing: no request can make it read our buckets
    assert model["EnableNetworkIsolation"] is True
    assert render(model["ExecutionRoleArn"]).startswith("<PublishOutputFnGetAttServingRole")
    config = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    # Unnamed, so a new model replaces the configuration and the endpoint updates blue/green.
    assert "EndpointConfigName" not in config
    endpoint = only_resource(template, "AWS::SageMaker::Endpoint")["Properties"]
    assert endpoint["EndpointName"] == "binventory-prod-counter"
    assert (
        _function(prod_app)["Environment"]["Variables"][LambdaEnv.ENDPOINT_NAME] == "binventory-prod-counter"
    )
    assert stack_outputs.COUNTER_MODEL_NAME in template["Outputs"]


def test_real_time_endpoint_scales_on_invocations_and_captures_data(prod_app: SynthesizedApp) -> None:
    template = prod_app.template("counting")
    settings = prod_app.settings.endpoint

    (variant,) = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"]["ProductionVariants"]
    assert variant["InstanceType"] == settings.instance_type
    assert "ServerlessConfig" not in variant
    capture = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"]["DataCaptureConfig"]
    assert render(capture["DestinationS3Uri"]).endswith(f"/{stack_outputs.ARTIFACTS_DATA_CAPTURE_PREFIX}")
    assert capture["InitialSamplingPercentage"] == settings.data_capture_sampling_percent
    target = only_resource(template, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert target["ResourceId"] == "endpoint/binventory-prod-counter/variant/AllTraffic"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (settings.min_instances, settings.max_instances)
    policy = only_resource(template, "AWS::ApplicationAutoScaling::ScalingPolicy")["Properties"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert (
        tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
        == "SageMakerVariantInvocationsPerInstance"
    )
    assert tracking["TargetValue"] == settings.target_invocations_per_instance


def test_serverless_endpoint_uses_the_configured_memory_and_concurrency() -> None:
    # given: the dev settings with a published model, the endpoint construct in a stack of its own
    settings = load_settings(context_with({"model_package_arn": MODEL_PACKAGE_ARN}))
    stack = cdk.Stack(cdk.App(), "EndpointUnderTest", env=cdk.Environment(region="us-east-1"))
    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/sagemaker")
    bucket = s3.Bucket.from_bucket_name(stack, "Artifacts", "artifacts")

    # when
    EndpointConstruct(stack, "Endpoint", settings=settings, execution_role=role, artifacts_bucket=bucket)

    # then
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ServerlessConfig": {
                        "MaxConcurrency": settings.endpoint.serverless_max_concurrency,
                        "MemorySizeInMB": settings.endpoint.serverless_memory_mb,
                    },
                }
            ],
            "DataCaptureConfig": assertions.Match.absent(),
        },
    )
    template.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 0)


def _alarms_by_metric(app: SynthesizedApp) -> dict[str, dict[str, Any]]:
    """Alarm properties by metric name; a metric-math alarm is listed under each metric it reads."""
    alarms: dict[str, dict[str, Any]] = {}
    for alarm in resources(app.template("counting"), "AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        names = (
            [properties["MetricName"]]
            if "MetricName" in properties
            else [
                query["MetricStat"]["Metric"]["MetricName"]
                for query in properties["Metrics"]
                if "MetricStat" in query
            ]
        )
        alarms.update(dict.fromkeys(names, properties))
    return alarms


def test_alarms_watch_the_dead_letters_the_lambda_and_the_endpoint(prod_app: SynthesizedApp) -> None:
    alarms = _alarms_by_metric(prod_app)
    (topic_id,) = resources(prod_app.template("counting"), "AWS::SNS::Topic")

    assert {
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "Errors",
        "Throttles",
        "Invocation5XXErrors",
        "Invocation4XXErrors",
        "ModelLatency",
    } <= set(alarms)
    assert alarms["Invocation4XXErrors"] is alarms["Invocations"], "4xx alarm watches the rejected share"
    assert alarms["ModelLatency"]["Threshold"] == prod_app.settings.alarms.endpoint_latency_p90_ms * 1000
    assert alarms["Invocation5XXErrors"]["Dimensions"] == [
        {"Name": "EndpointName", "Value": "binventory-prod-counter"},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
    topic = only_resource(prod_app.template("counting"), "AWS::SNS::Topic")["Properties"]
    assert "KmsMasterKeyId" in topic
    topic_policy = only_resource(prod_app.template("counting"), "AWS::SNS::TopicPolicy")["Properties"]
    publishers = [
        service
        for statement in topic_policy["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow" and statement["Action"] == "sns:Publish"
        for service in as_list(statement["Principal"]["Service"])
    ]
    assert "cloudwatch.amazonaws.com" in publishers


def test_counting_outputs_carry_what_the_cli_reads(dev_app: SynthesizedApp) -> None:
    template_outputs = dev_app.template("counting")["Outputs"]

    assert template_outputs[stack_outputs.ENDPOINT_NAME]["Value"] == "binventory-dev-counter"
    for output_id in (
        stack_outputs.INGEST_QUEUE_URL,
        stack_outputs.DEAD_LETTER_QUEUE_URL,
        stack_outputs.COUNTER_FUNCTION_NAME,
        stack_outputs.EVENT_BUS_NAME,
    ):
        assert output_id in template_outputs
