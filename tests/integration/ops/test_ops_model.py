"""`binventory model list|promote|rollback` against moto's SageMaker (UpdateEndpoint emulated: conftest)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from iam_check.check import ServiceCall, denials
from iam_check.operator import operator_policy
from iam_check.requests import IamRequest
from sagemaker_resources import create_endpoint

from contracts import stack_outputs

GROUP = "binventory-dev-countnet"
PACKAGE_PREFIX = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{GROUP}"
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
            stack_outputs.SERVING_ROLE_ARN: ROLE,
        }
    )
    return client


@pytest.fixture
def approved(sagemaker: Any) -> Any:
    """Every version approved by a reviewer (`binventory model approve`)."""
    for version in ACCURACIES:
        update_package(sagemaker, version, approval="Approved")
    return sagemaker


def update_package(
    sagemaker: Any, version: int, *, approval: str | None = None, properties: dict[str, str] | None = None
) -> None:
    """Change a version's approval or metadata, keeping the rest (moto's UpdateModelPackage drops what is
    not sent)."""
    arn = package_arn(sagemaker, version)
    current = sagemaker.describe_model_package(ModelPackageName=arn)
    sagemaker.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus=approval or current["ModelApprovalStatus"],
        CustomerMetadataProperties={**current.get("CustomerMetadataProperties", {}), **(properties or {})},
    )


def serving(sagemaker: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(config name, its only variant, that variant's model container) the endpoint serves now."""
    config_name = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    variant = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"][0]
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    return config_name, variant, model.get("PrimaryContainer") or model["Containers"][0]


def package_arn(sagemaker: Any, version: int) -> str:
    packages = sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    return next(p["ModelPackageArn"] for p in packages if p["ModelPackageVersion"] == version)


def test_promote_moves_the_endpoint_to_a_new_config_serving_that_version(approved: Any, invoke: Any) -> None:
    sagemaker = approved
    # when version 2 is promoted
    result = invoke("model", "promote", "2")

    # then the endpoint serves a new config: same serving settings, the version's package, same environment,
    # and its model runs as the served one did (the serving role)
    assert result.exit_code == 0, result.output
    config_name, variant, container = serving(sagemaker)
    assert sagemaker.describe_model(ModelName=variant["ModelName"])["ExecutionRoleArn"] == ROLE
    assert config_name != "stack-config"
    assert variant["ServerlessConfig"] == SERVERLESS
    assert container["ModelPackageName"] == package_arn(sagemaker, 2)
    assert container["Environment"] == {"SAGEMAKER_PROGRAM": "inference.py"}
    # and the version is approved and marked as the one being served
    described = sagemaker.describe_model_package(ModelPackageName=package_arn(sagemaker, 2))
    assert described["ModelApprovalStatus"] == "Approved"
    rows = [line.replace("│", " ").split() for line in invoke("model", "list").output.splitlines()]
    assert [row[:3] for row in rows if row[:1] == ["*"]] == [["*", "2", "Approved"]]


def test_a_promoted_model_has_its_one_container_as_the_primary_container(approved: Any, invoke: Any) -> None:
    sagemaker = approved
    # when
    assert invoke("model", "promote", "2").exit_code == 0

    # then: a single container is the primary container (Containers is for inference pipelines)
    model_name = serving(sagemaker)[1]["ModelName"]
    model = sagemaker.describe_model(ModelName=model_name)
    assert model["PrimaryContainer"]["ModelPackageName"] == package_arn(sagemaker, 2)
    assert not model.get("Containers")


def test_promote_refuses_a_version_pending_manual_approval(sagemaker: Any, invoke: Any) -> None:
    # given version 1 is pending manual approval (SageMaker deploys only Approved packages)
    pending = sagemaker.describe_model_package(ModelPackageName=package_arn(sagemaker, 1))
    assert pending["ModelApprovalStatus"] == "PendingManualApproval"

    # when an operator promotes it
    result = invoke("model", "promote", "1")

    # then nothing changes: an operator cannot approve; a reviewer does, with `model approve`
    assert result.exit_code == 1
    assert "it is PendingManualApproval" in result.output and "binventory model approve 1" in result.output
    assert serving(sagemaker)[0] == "stack-config"
    described = sagemaker.describe_model_package(ModelPackageName=package_arn(sagemaker, 1))
    assert described["ModelApprovalStatus"] == "PendingManualApproval"


def _started_by(sagemaker: Any, version: int, identity: str) -> None:
    """Record who started version `version`'s training run, as the pipeline publishes it."""
    update_package(sagemaker, version, properties={stack_outputs.PACKAGE_STARTED_BY: identity})


@pytest.mark.iam_policy("approver-policy.json")
def test_a_reviewer_who_did_not_start_the_run_approves_a_version(sagemaker: Any, invoke: Any) -> None:
    # given version 1 was trained by another operator
    _started_by(sagemaker, 1, "arn:aws:sts::123456789012:assumed-role/binventory-operator/alice")

    # when a reviewer approves it
    result = invoke("model", "approve", "1", "--note", "checked the confusion matrix")

    # then it is Approved, and the approval says by whom and why
    assert result.exit_code == 0, result.output
    described = sagemaker.describe_model_package(ModelPackageName=package_arn(sagemaker, 1))
    assert described["ModelApprovalStatus"] == "Approved"
    assert "checked the confusion matrix" in described["ApprovalDescription"]
    assert "PendingManualApproval -> Approved" in result.output


@pytest.mark.iam_policy("approver-policy.json")
def test_whoever_started_the_run_cannot_approve_its_version(sagemaker: Any, invoke: Any) -> None:
    # given version 1 was trained by the identity now asking to approve it (moto's caller)
    me = boto3.client("sts").get_caller_identity()["Arn"]
    _started_by(sagemaker, 1, me)

    # when it approves its own run's version
    result = invoke("model", "approve", "1")

    # then it is refused, and told who may approve
    assert result.exit_code == 1
    assert "started its training run" in result.output and "approver-policy.json" in result.output
    described = sagemaker.describe_model_package(ModelPackageName=package_arn(sagemaker, 1))
    assert described["ModelApprovalStatus"] == "PendingManualApproval"


def test_the_operator_policy_cannot_approve_a_version() -> None:
    # given the documented operator policy, filled in for a stage
    policy = operator_policy(
        {"Partition": "aws", "Region": "us-east-1", "Account": "123456789012", "ModelPackageGroupName": GROUP}
    )
    call = ServiceCall(
        "an operator approving a version",
        (IamRequest("sagemaker:UpdateModelPackage", f"{PACKAGE_PREFIX}/1", {"aws:SecureTransport": "true"}),),
    )

    # then IAM refuses it: approving is a reviewer's, who holds docs/approver-policy.json
    assert denials(policy, [call])


def test_promote_and_rollback_record_the_served_package_for_the_next_deploy(
    approved: Any, invoke: Any
) -> None:
    # given approved versions
    sagemaker = approved
    ssm = boto3.client("ssm")
    parameter = stack_outputs.served_model_parameter("dev")

    def recorded() -> str:
        return ssm.get_parameter(Name=parameter)["Parameter"]["Value"]

    # when each is promoted, the parameter the counting stack deploys from names it
    assert invoke("model", "promote", "1").exit_code == 0
    assert recorded() == package_arn(sagemaker, 1)
    result = invoke("model", "promote", "2")
    assert result.exit_code == 0 and recorded() == package_arn(sagemaker, 2)
    assert parameter in result.output

    # and a rollback records the package it went back to
    assert invoke("model", "rollback").exit_code == 0
    assert recorded() == package_arn(sagemaker, 1)


def test_promote_refuses_a_rejected_version(sagemaker: Any, invoke: Any) -> None:
    # given a reviewer rejected version 2
    arn = package_arn(sagemaker, 2)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")

    # when it is promoted, even with --force
    refused = invoke("model", "promote", "2", "--force")

    # then nothing changes, and the message says why and how to approve it deliberately
    assert refused.exit_code == 1
    assert "version 2 was Rejected" in refused.output
    assert "binventory model approve 2" in refused.output
    assert serving(sagemaker)[0] == "stack-config"
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Rejected"


def test_promote_refuses_a_model_below_the_gate_unless_forced(approved: Any, invoke: Any) -> None:
    sagemaker = approved
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


def test_rollback_returns_to_the_config_each_promotion_replaced(approved: Any, invoke: Any) -> None:
    sagemaker = approved
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
