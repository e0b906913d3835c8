"""`binventory model list|promote|rollback` against moto's SageMaker (UpdateEndpoint emulated: conftest)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from sagemaker_resources import create_endpoint

from contracts import stack_outputs

GROUP = "binventory-dev-countnet"
ENDPOINT = "binventory-dev-counter"
ROLE = "arn:aws:iam::123456789012:role/binventory-sagemaker"
ACCURACIES = {1: "0.4100", 2: "0.5200", 3: "0.1200"}
SERVERLESS = {"MemorySizeInMB": 3072, "MaxConcurrency": 5}


@pytest.fixture
def sagemaker(
    aws: None,
    set_stack_outputs: Any,
    sagemaker_update_endpoint: None,
    sagemaker_deploys_only_approved_packages: None,
) -> Any:
    """Three versions published pending approval, and an endpoint serving the model the stack deployed."""
    client = boto3.client("sagemaker")
    client.create_model_package_group(ModelPackageGroupName=GROUP)
    for accuracy in ACCURACIES.values():
        client.create_model_package(
            ModelPackageGroupName=GROUP,
            # What the pipeline publishes with `training.model_approval_status: PendingManualApproval`.
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [
                    {"Image": "pytorch-inference:2.6", "ModelDataUrl": "s3://artifacts/model.tar.gz"}
                ],
                "SupportedContentTypes": ["image/jpeg"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            CustomerMetadataProperties={"validation:accuracy": accuracy, "validation:rmse": "1.0500"},
        )
    create_endpoint(
        client,
        ENDPOINT,
        {"ServerlessConfig": SERVERLESS},
        model="stack-model",
        config="stack-config",
        container={"Environment": {"SAGEMAKER_PROGRAM": "inference.py"}},
        role_arn=ROLE,
    )
    set_stack_outputs(
        **{
            stack_outputs.MODEL_PACKAGE_GROUP_NAME: GROUP,
            stack_outputs.ENDPOINT_NAME: ENDPOINT,
            stack_outputs.SAGEMAKER_ROLE_ARN: ROLE,
        }
    )
    return client


def serving(sagemaker: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(config name, its only variant, that variant's model container) the endpoint serves now."""
    config_name = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    variant = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"][0]
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    return config_name, variant, model.get("PrimaryContainer") or model["Containers"][0]


def package_arn(sagemaker: Any, version: int) -> str:
    packages = sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    return next(p["ModelPackageArn"] for p in packages if p["ModelPackageVersion"] == version)


def test_promote_moves_the_endpoint_to_a_new_config_serving_that_version(sagemaker: Any, invoke: Any) -> None:
    # when version 2 is promoted
    result = invoke("model", "promote", "2")

    # then the endpoint serves a new config: same serving settings, the version's package, same environment
    assert result.exit_code == 0, result.output
    config_name, variant, container = serving(sagemaker)
    assert config_name != "stack-config"
    assert variant["ServerlessConfig"] == SERVERLESS
    assert container["ModelPackageName"] == package_arn(sagemaker, 2)
    assert container["Environment"] == {"SAGEMAKER_PROGRAM": "inference.py"}
    # and the version is approved and marked as the one being served
    described = sagemaker.describe_model_package(ModelPackageName=package_arn(sagemaker, 2))
    assert described["ModelApprovalStatus"] == "Approved"
    rows = [line.replace("│", " ").split() for line in invoke("model", "list").output.splitlines()]
    assert [row[:3] for row in rows if row[:1] == ["*"]] == [["*", "2", "Approved"]]


def test_a_promoted_model_has_its_one_container_as_the_primary_container(sagemaker: Any, invoke: Any) -> None:
    # when
    assert invoke("model", "promote", "2").exit_code == 0

    # then: a single container is the primary container (Containers is for inference pipelines)
    model_name = serving(sagemaker)[1]["ModelName"]
    model = sagemaker.describe_model(ModelName=model_name)
    assert model["PrimaryContainer"]["ModelPackageName"] == package_arn(sagemaker, 2)
    assert not model.get("Containers")


def test_promote_approves_a_pending_version_before_deploying_it(sagemaker: Any, invoke: Any) -> None:
    # given version 1 is pending manual approval (SageMaker deploys only Approved packages)
    pending = sagemaker.describe_model_package(ModelPackageName=package_arn(sagemaker, 1))
    assert pending["ModelApprovalStatus"] == "PendingManualApproval"

    # when it is promoted
    result = invoke("model", "promote", "1")

    # then the operator is told it was approved, and the endpoint serves it
    assert result.exit_code == 0, result.output
    assert "approving version 1 (PendingManualApproval -> Approved)" in result.output
    assert serving(sagemaker)[2]["ModelPackageName"] == package_arn(sagemaker, 1)
    described = sagemaker.describe_model_package(ModelPackageName=package_arn(sagemaker, 1))
    assert described["ModelApprovalStatus"] == "Approved"


def test_promote_refuses_a_rejected_version(sagemaker: Any, invoke: Any) -> None:
    # given a reviewer rejected version 2
    arn = package_arn(sagemaker, 2)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")

    # when it is promoted, even with --force
    refused = invoke("model", "promote", "2", "--force")

    # then nothing changes, and the message says why and how to approve it deliberately
    assert refused.exit_code == 1
    assert "version 2 was Rejected" in refused.output
    assert "update-model-package" in refused.output and "Approved" in refused.output
    assert serving(sagemaker)[0] == "stack-config"
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Rejected"


def test_promote_refuses_a_model_below_the_gate_unless_forced(sagemaker: Any, invoke: Any) -> None:
    # when the weak version 3 is promoted
    refused = invoke("model", "promote", "3")

    # then nothing changes and the operator is told why and how to override
    assert refused.exit_code == 1
    assert "validation:accuracy 0.1200 is below the gate 0.3000" in refused.output
    assert "--force" in refused.output
    assert serving(sagemaker)[0] == "stack-config"

    # when it is forced, it is promoted
    forced = invoke("model", "promote", "3", "--force")
    assert forced.exit_code == 0, forced.output
    assert serving(sagemaker)[2]["ModelPackageName"] == package_arn(sagemaker, 3)


def test_rollback_returns_to_the_config_each_promotion_replaced(sagemaker: Any, invoke: Any) -> None:
    # given two promotions
    invoke("model", "promote", "1")
    first = serving(sagemaker)[0]
    invoke("model", "promote", "2")

    # when rolled back twice, then once more
    assert invoke("model", "rollback").exit_code == 0
    back_once = serving(sagemaker)[0]
    assert invoke("model", "rollback").exit_code == 0
    back_twice = serving(sagemaker)[0]
    beyond = invoke("model", "rollback")

    # then it walks back along the promotions and stops at the stack's own config
    assert (back_once, back_twice) == (first, "stack-config")
    assert beyond.exit_code == 1 and "nothing to roll back to" in beyond.output
