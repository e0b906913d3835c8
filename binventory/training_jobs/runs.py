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
    rules: dict[str, str] = field(default_factory=dict)  # profiler rule -> its verdict (IssuesFound, ...)
    report: str | None = None  # where the ProfilerReport rule writes its HTML report


@dataclass(frozen=True)
class JobOutcome:
    """What a run's job left: its status, the best trial of a tuning run, metrics, profiler verdicts."""

    status: str | None = None
    best_job: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)
    report: str | None = None


def recent_runs(sfn: Any, sagemaker: Any, state_machine_arn: str, limit: int) -> list[RunSummary]:
    """The newest `limit` executions (running ones included), newest first."""
    executions = sfn.list_executions(stateMachineArn=state_machine_arn, maxResults=limit)["executions"]
    return [_summarise(sfn, sagemaker, execution) for execution in executions]


def _summarise(sfn: Any, sagemaker: Any, execution: dict[str, Any]) -> RunSummary:
    tune = is_tuning_run(sfn, execution["executionArn"])
    outcome = job_outcome(sagemaker, execution["name"], tune)
    return RunSummary(
        name=execution["name"],
        status=execution["status"],
        started=execution["startDate"],
        stopped=execution.get("stopDate"),
        tune=tune,
        job_status=outcome.status,
        best_job=outcome.best_job,
        metrics=outcome.metrics,
        rules=outcome.rules,
        report=outcome.report,
    )


def _is_tuning(execution_input: str) -> bool:
    try:
        return bool(json.loads(execution_input).get("tune", False))
    except (ValueError, AttributeError):
        return False


def job_outcome(sagemaker: Any, execution_name: str, tune: bool) -> JobOutcome:
    """The run's job as it stands; an empty outcome before the job exists.

    A tuning run reports its best trial's metrics (its trials run no profiler rules: a tuning job's
    definition takes none).
    """
    try:
        if not tune:
            job = sagemaker.describe_training_job(TrainingJobName=training_job_name(execution_name))
            return JobOutcome(
                job["TrainingJobStatus"], None, _final_metrics(job), _rule_verdicts(job), _report(job)
            )
        tuning = sagemaker.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=tuning_job_name(execution_name)
        )
        best = tuning.get("BestTrainingJob", {}).get("TrainingJobName")
        metrics = _final_metrics(sagemaker.describe_training_job(TrainingJobName=best)) if best else {}
        return JobOutcome(tuning["HyperParameterTuningJobStatus"], best, metrics)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"ValidationException", "ResourceNotFound"}:
            return JobOutcome()
        raise


def _rule_verdicts(job: dict[str, Any]) -> dict[str, str]:
    return {
        status["RuleConfigurationName"]: status.get("RuleEvaluationStatus", "-")
        for status in job.get("ProfilerRuleEvaluationStatuses", [])
    }


def _report(job: dict[str, Any]) -> str | None:
    """The ProfilerReport rule's HTML report (`<profiler output>/<job>/rule-output/...`), if there is one."""
    output = job.get("ProfilerConfig", {}).get("S3OutputPath")
    if not output or "ProfilerReport" not in _rule_verdicts(job):
        return None
    rule_output = f"{output.rstrip('/')}/{job['TrainingJobName']}/rule-output"
    return f"{rule_output}/ProfilerReport/profiler-output/profiler-report.html"


def _final_metrics(job: dict[str, Any]) -> dict[str, float]:
    return {item["MetricName"]: float(item["Value"]) for item in job.get("FinalMetricDataList", [])}
