"""The SageMaker API requests the training state machine sends, as plain dicts.

Kept apart from the CDK states so tests can check each request against the SageMaker API's own
input shapes (botocore's service model). Strings wrapped in `{% ... %}` are JSONata expressions
that Step Functions evaluates per execution; everything else is fixed at synth time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts import metric_lines, stack_outputs
from contracts.deployment_settings import EndpointSettings, TrainingSettings
from contracts.manifest_layout import ADDED_TRAIN_CHANNEL, IMAGE_CHANNELS, LABELS_CHANNEL, MANIFEST_SUFFIX

TRAINING_ENTRY_POINT = "train.py"
INFERENCE_ENTRY_POINT = "inference.py"
# Where the PyTorch serving container finds inference.py: train.py writes it into the model dir's code/.
INFERENCE_CODE_DIR = "/opt/ml/model/code"
CONTENT_TYPES = ("image/jpeg", "image/png", "application/x-image")
RESPONSE_TYPES = ("application/json",)
# How often the profiler samples CPU, GPU, memory and I/O (its default is 500 ms).
PROFILING_INTERVAL_MS = 500
# The profiler rules each training job runs (Debugger's built-in profiler rules, their documented parameters).
PROFILER_RULES: dict[str, dict[str, str]] = {
    "ProfilerReport": {},
    # Flagged when the GPU's 95th percentile stays under 70% (the loader starves it, or the instance is too
    # large for the batch), checked after the first 1,000 samples (8 minutes at 500 ms).
    "LowGPUUtilization": {"threshold_p95": "70", "threshold_p5": "10", "window": "500", "patience": "1000"},
}


def jsonata(expression: str) -> str:
    """Mark `expression` for Step Functions to evaluate (JSONata query language)."""
    return "{% " + expression + " %}"


@dataclass(frozen=True)
class _Expression:
    """A JSONata expression placed inside a value that `_jsonata_literal` renders."""

    text: str


def _jsonata_literal(value: Any) -> str:
    """A JSON-like value as JSONata source; `_Expression` parts are inserted as they are."""
    if isinstance(value, _Expression):
        return value.text
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(k)}: {_jsonata_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_jsonata_literal(item) for item in value) + "]"
    return json.dumps(value)


@dataclass(frozen=True)
class TrainingJobTemplate:
    """What every training job shares, whether the state machine starts it or a tuning job does."""

    settings: TrainingSettings
    role_arn: str
    image_uri: str
    source_uri: str
    region: str
    dataset_bucket: str
    artifacts_bucket: str
    stage: str
    rules_image_uri: str

    def tags(self) -> list[dict[str, str]]:
        """The stage's tag: `binventory costs` counts a running job only when it carries its stage's."""
        return [{"Key": stack_outputs.STAGE_TAG, "Value": self.stage}]

    def sagemaker_hyperparameters(self) -> dict[str, str]:
        """The PyTorch container's own hyperparameters: which script to run, from which archive."""
        return {
            "sagemaker_program": TRAINING_ENTRY_POINT,
            "sagemaker_submit_directory": self.source_uri,
            "sagemaker_region": self.region,
            "sagemaker_container_log_level": "20",
        }

    def algorithm_specification(self) -> dict[str, Any]:
        return {
            "TrainingImage": self.image_uri,
            "TrainingInputMode": "File",
            "MetricDefinitions": metric_lines.metric_definitions(),
        }

    def input_data_config(self) -> list[dict[str, Any]]:
        """The dataset bucket's `train/` and `validation/` prefixes (what `binventory data upload` fills)."""
        return [
            {
                "ChannelName": channel,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{self.dataset_bucket}/{channel}/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for channel in stack_outputs.DATASET_CHANNELS
        ]

    def manifest_input_data_config(self, manifest: str) -> list[dict[str, Any]]:
        """Channels of the manifest dataset `manifest` (JSONata for the input's `{name, input_mode}`).

        Each image channel is a `ManifestFile` listing public ABID images, read in the input's mode
        (FastFile streams each image on first open); the `labels` channel is the small folder of label
        files, downloaded (File) before training starts.
        """
        mode = _Expression(f"{manifest}.input_mode")
        return [
            *(
                self._channel(manifest, c, "ManifestFile", f"/{c}{MANIFEST_SUFFIX}", mode)
                for c in IMAGE_CHANNELS
            ),
            self._channel(manifest, LABELS_CHANNEL, "S3Prefix", f"/{LABELS_CHANNEL}/", "File"),
        ]

    def added_train_channel(self, manifest: str) -> dict[str, Any]:
        """The `train_added` channel of a combined dataset (`train start --add-manifest`)."""
        mode = _Expression(f"{manifest}.input_mode")
        suffix = f"/{ADDED_TRAIN_CHANNEL}{MANIFEST_SUFFIX}"
        return self._channel(manifest, ADDED_TRAIN_CHANNEL, "ManifestFile", suffix, mode)

    def _channel(
        self, manifest: str, name: str, data_type: str, suffix: str, input_mode: Any
    ) -> dict[str, Any]:
        folder = f"s3://{self.dataset_bucket}/{stack_outputs.DATASET_MANIFESTS_PREFIX}"
        return {
            "ChannelName": name,
            "InputMode": input_mode,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": data_type,
                    "S3Uri": _Expression(f"{json.dumps(folder)} & {manifest}.name & {json.dumps(suffix)}"),
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        }

    def input_data_config_choice(self, manifest: str) -> str:
        """`InputDataConfig` as JSONata: the manifest's channels when the input has `manifest` (and the added
        training channel when it says `added_train`), else the dataset bucket's prefixes. `manifest` is the
        JSONata expression of the input's manifest object."""
        value = _unwrap(manifest)
        with_manifest = _jsonata_literal(self.manifest_input_data_config(value))
        added = _jsonata_literal([self.added_train_channel(value)])
        with_added = f"$append({with_manifest}, {value}.added_train = true ? {added} : [])"
        return jsonata(f"{value} ? {with_added} : {_jsonata_literal(self.input_data_config())}")

    def shared_job_settings(self, *, manifest: str) -> dict[str, Any]:
        """Role, data, output, instances, time limits and spot settings (no names, no checkpoints)."""
        settings = self.settings
        stopping: dict[str, int] = {"MaxRuntimeInSeconds": settings.max_runtime_seconds}
        if settings.use_spot:
            stopping["MaxWaitTimeInSeconds"] = settings.max_wait_seconds
        return {
            "AlgorithmSpecification": self.algorithm_specification(),
            "RoleArn": self.role_arn,
            "InputDataConfig": self.input_data_config_choice(manifest),
            "OutputDataConfig": {
                "S3OutputPath": f"s3://{self.artifacts_bucket}/{stack_outputs.ARTIFACTS_MODELS_PREFIX}"
            },
            "ResourceConfig": {
                "InstanceType": settings.instance_type,
                "InstanceCount": settings.instance_count,
                "VolumeSizeInGB": settings.volume_size_gb,
            },
            "StoppingCondition": stopping,
            "EnableManagedSpotTraining": settings.use_spot,
        }


def training_job_request(
    template: TrainingJobTemplate, *, job_name: str, hyperparameters: str, manifest: str
) -> dict[str, Any]:
    """`CreateTrainingJob` arguments; `job_name`, `hyperparameters` and `manifest` are JSONata expressions."""
    request = {
        "TrainingJobName": job_name,
        "HyperParameters": hyperparameters,
        **template.shared_job_settings(manifest=manifest),
        **profiler_settings(template),
        "Tags": template.tags(),
    }
    if template.settings.use_spot:
        # An interrupted spot job resumes from the last checkpoint train.py wrote to /opt/ml/checkpoints.
        checkpoint_prefix = f"s3://{template.artifacts_bucket}/{stack_outputs.ARTIFACTS_CHECKPOINTS_PREFIX}"
        request["CheckpointConfig"] = {"S3Uri": jsonata(f"'{checkpoint_prefix}' & {_unwrap(job_name)}")}
    return request


def profiler_settings(template: TrainingJobTemplate) -> dict[str, Any]:
    """The job's system profile and the profiler rules that read it (CreateTrainingJob only: a tuning job's
    definition takes no profiler rules).

    `ProfilerReport` writes the HTML report (`<job>/rule-output/ProfilerReport/profiler-output/`), and
    `LowGPUUtilization` flags a GPU mostly idle (the loader not keeping up, or an instance too large); each
    rule's verdict is in DescribeTrainingJob's `ProfilerRuleEvaluationStatuses` (`binventory train status`).
    Debugger's tensor rules (LossNotDecreasing, Overfit) are not here: they read tensors that the smdebug
    hook saves, and smdebug does not import on the DLC's Python 3.12 (it needs `distutils`); train.py stops
    a run itself when validation accuracy stalls for `patience` epochs, which is what those rules would do.
    """
    output = f"s3://{template.artifacts_bucket}/{stack_outputs.ARTIFACTS_MODELS_PREFIX}"
    return {
        "ProfilerConfig": {
            "S3OutputPath": output,
            "ProfilingIntervalInMilliseconds": PROFILING_INTERVAL_MS,
            "DisableProfiler": False,
        },
        "ProfilerRuleConfigurations": [
            {
                "RuleConfigurationName": name,
                "RuleEvaluatorImage": template.rules_image_uri,
                "RuleParameters": {"rule_to_invoke": name, **parameters},
            }
            for name, parameters in PROFILER_RULES.items()
        ],
    }


def tuning_job_request(
    template: TrainingJobTemplate, *, job_name: str, static_hyperparameters: str, tuning: str, manifest: str
) -> dict[str, Any]:
    """`CreateHyperParameterTuningJob` arguments: Bayesian search on the metric train.py logs.

    `tuning` is the JSONata expression for the input's `tuning` object (budget and ranges).
    Trials run without a checkpoint location: they share one job definition, so a fixed
    checkpoint URI would be shared by parallel trials; an interrupted spot trial restarts instead.
    """
    tuning_value = _unwrap(tuning)
    return {
        "HyperParameterTuningJobName": job_name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {
                "Type": metric_lines.OBJECTIVE_TYPE,
                "MetricName": metric_lines.OBJECTIVE_METRIC,
            },
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": jsonata(f"{tuning_value}.max_jobs"),
                "MaxParallelTrainingJobs": jsonata(f"{tuning_value}.max_parallel_jobs"),
            },
            "ParameterRanges": jsonata(f"{tuning_value}.parameter_ranges"),
            # Stop trials whose objective trails the others' at the same epoch.
            "TrainingJobEarlyStoppingType": "Auto",
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": static_hyperparameters,
            **template.shared_job_settings(manifest=manifest),
        },
        # SageMaker adds a tuning job's tags to every training job it launches.
        "Tags": template.tags(),
    }


def model_package_request(
    *,
    group_name: str,
    approval_status: str,
    image_uri: str,
    framework_version: str,
    region: str,
    endpoint: EndpointSettings,
    training_job: str,
    started_by: str,
) -> dict[str, Any]:
    """`CreateModelPackage` arguments for the DescribeTrainingJob result `training_job` (JSONata).

    The package carries the job's final metrics in `CustomerMetadataProperties`, so `model list`
    and a promotion gate can read them without opening the training job, and who started the run
    (`started_by`, JSONata), whom `binventory model approve` does not let approve it.
    """
    job = _unwrap(training_job)
    starter = _unwrap(started_by)
    # One object, metric name -> final value as a string (the API wants string values).
    metrics = f"{job}.FinalMetricDataList{{MetricName: $string(Value)}}"
    return {
        "ModelPackageGroupName": group_name,
        "ModelPackageDescription": jsonata(f"'CountNet trained by SageMaker job ' & {job}.TrainingJobName"),
        "ModelApprovalStatus": approval_status,
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": image_uri,
                    "ModelDataUrl": jsonata(f"{job}.ModelArtifacts.S3ModelArtifacts"),
                    "Environment": inference_environment(region),
                    "Framework": "PYTORCH",
                    "FrameworkVersion": framework_version,
                }
            ],
            "SupportedContentTypes": list(CONTENT_TYPES),
            "SupportedResponseMIMETypes": list(RESPONSE_TYPES),
            "SupportedTransformInstanceTypes": [endpoint.transform_instance_type],
        },
        "MetadataProperties": {"GeneratedBy": jsonata(f"{job}.TrainingJobArn")},
        "CustomerMetadataProperties": jsonata(
            f"$merge([{{'training_job_name': {job}.TrainingJobName, "
            f"'{stack_outputs.PACKAGE_STARTED_BY}': {starter}}}, {metrics}])"
        ),
    }


def inference_environment(region: str) -> Mapping[str, str]:
    """Environment of the serving container: run code/inference.py from the model archive."""
    return {
        "SAGEMAKER_PROGRAM": INFERENCE_ENTRY_POINT,
        "SAGEMAKER_SUBMIT_DIRECTORY": INFERENCE_CODE_DIR,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": region,
    }


def _unwrap(expression: str) -> str:
    """`{% $x %}` -> `$x`, to compose one JSONata expression into another."""
    if not (expression.startswith("{% ") and expression.endswith(" %}")):
        raise ValueError(f"not a JSONata expression: {expression!r}")
    return expression[3:-3]
