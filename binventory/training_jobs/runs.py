"""Summaries of recent training-pipeline executions, with the metrics of the job each one ran.

The state machine names its jobs after the execution (stacks/training_pipeline/pipeline.py, TRAINING_JOB_NAME
and TUNING_JOB_NAME), so the execution name is enough to find them; a tuning run reports its best
training job's final metrics.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError


def _safe(execution_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", execution_name)


def training_job_name(execution_name: str) -> str:
    """The training job a run starts: the execution name cut to 57 characters, then `-train`."""
    return _safe(execution_name)[:57] + "-train"


def tuning_job_name(execution_name: str) -> str:
    """The tuning job a `--tune` run starts: the execution name cut to 27 characters, then `-tune`."""
    return _safe(execution_name)[:27] + "-tune"


def log_stream_prefix(execution_name: str, tune: bool) -> str:
    """Streams are `<training job>/algo-1-...`; a tuning job's trials are `<tuning job>-NNN-...`."""
    return f"{tuning_job_name(execution_name)}-" if tune else f"{training_job_name(execution_name)}/"


def is_tuning_run(sfn: Any, execution_arn: str) -> bool:
    return _is_tuning(sfn.describe_execution(executionArn=execution_arn).get("input", "{}"))


@dataclass(frozen=True)
class RunSummary:
    name: str
    status: str
    started: datetime
    stopped: datetime | None
    tune: bool
    job_status: str | None = None
    best_job: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)


def recent_runs(sfn: Any, sagemaker: Any, state_machine_arn: str, limit: int) -> list[RunSummary]:
    """The newest `limit` executions (running ones included), newest first."""
    executions = sfn.list_executions(stateMachineArn=state_machine_arn, maxResults=limit)["executions"]
    return [_summarise(sfn, sagemaker, execution) for execution in executions]


def _summarise(sfn: Any, sagemaker: Any, execution: dict[str, Any]) -> RunSummary:
    tune = is_tuning_run(sfn, execution["executionArn"])
    job_status, best_job, metrics = job_metrics(sagemaker, execution["name"], tune)
    return RunSummary(
        name=execution["name"],
        status=execution["status"],
        started=execution["startDate"],
        stopped=execution.get("stopDate"),
        tune=tune,
        job_status=job_status,
        best_job=best_job,
        metrics=metrics,
    )


def _is_tuning(execution_input: str) -> bool:
    try:
        return bool(json.loads(execution_input).get("tune", False))
    except (ValueError, AttributeError):
        return False


def job_metrics(
    sagemaker: Any, execution_name: str, tune: bool
) -> tuple[str | None, str | None, dict[str, float]]:
    """(job status, best training job for a tuning run, final metrics); Nones before the job exists."""
    try:
        if not tune:
            job = sagemaker.describe_training_job(TrainingJobName=training_job_name(execution_name))
            return job["TrainingJobStatus"], None, _final_metrics(job)
        tuning = sagemaker.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=tuning_job_name(execution_name)
        )
        best = tuning.get("BestTrainingJob", {}).get("TrainingJobName")
        metrics = _final_metrics(sagemaker.describe_training_job(TrainingJobName=best)) if best else {}
        return tuning["HyperParameterTuningJobStatus"], best, metrics
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"ValidationException", "ResourceNotFound"}:
            return None, None, {}
        raise


def _final_metrics(job: dict[str, Any]) -> dict[str, float]:
    return {item["MetricName"]: float(item["Value"]) for item in job.get("FinalMetricDataList", [])}
