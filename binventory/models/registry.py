"""Read the published model packages (one per training run) and the metrics the pipeline attached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click

from contracts import stack_outputs


@dataclass(frozen=True)
class PublishedModel:
    version: int
    arn: str
    approval: str
    created: datetime
    metrics: dict[str, float]
    started_by: str | None = None  # who started the training run that published it


def published_models(sagemaker: Any, group: str) -> list[PublishedModel]:
    """Every version in the model package group, oldest first, with its metrics."""
    summaries: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "SortBy": "CreationTime",
        "SortOrder": "Ascending",
    }
    while True:
        response = sagemaker.list_model_packages(**request)
        summaries += response.get("ModelPackageSummaryList", [])
        if not response.get("NextToken"):
            break
        request["NextToken"] = response["NextToken"]
    return [_describe(sagemaker, summary["ModelPackageArn"]) for summary in summaries]


def find_version(models: list[PublishedModel], version: int) -> PublishedModel:
    for model in models:
        if model.version == version:
            return model
    known = ", ".join(str(m.version) for m in models) or "none yet (run `binventory train start`)"
    raise click.ClickException(f"No published model version {version}; versions: {known}.")


def _describe(sagemaker: Any, arn: str) -> PublishedModel:
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    return PublishedModel(
        version=int(package["ModelPackageVersion"]),
        arn=package["ModelPackageArn"],
        approval=package.get("ModelApprovalStatus", "-"),
        created=package["CreationTime"],
        metrics=metrics_from_properties(package.get("CustomerMetadataProperties", {})),
        started_by=package.get("CustomerMetadataProperties", {}).get(stack_outputs.PACKAGE_STARTED_BY),
    )


def metrics_from_properties(properties: dict[str, str]) -> dict[str, float]:
    """`{"validation:accuracy": "0.51", "model_version": "..."}` -> `{"validation:accuracy": 0.51}`."""
    metrics: dict[str, float] = {}
    for name, value in properties.items():
        if ":" not in name:
            continue
        try:
            metrics[name] = float(value)
        except ValueError:
            continue
    return metrics
