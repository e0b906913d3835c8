"""Binventory's typed, validated configuration, built from the `binventory` key of cdk.json's context.

Plain Python on purpose (no aws_cdk import): the CDK app, the operator CLI and the local pipeline all
read the same object. Every value is required in cdk.json, which is the one place defaults live;
a missing or bad value raises `SettingsError` naming the key and what it accepts.

Precedence, lowest first: `binventory` in cdk.json, then `binventory.stages.<stage>` (a partial
override per stage), then dotted `-c binventory.<section>.<key>=value` overrides, then the short
`-c stage=... / region=... / account=... / model_package_arn=...` keys.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.context_reader import (
    Section,
    SettingsError,
    apply_dotted_overrides,
    command_line_value,
    deep_merge,
    read_section,
)
from contracts.decision import DecisionCosts
from contracts.recipe import RECIPE_FILE, load_recipe

ROOT_KEY = "binventory"
# Top-level context keys that override `binventory.<key>`, e.g. `npx cdk deploy -c model_package_arn=arn:...`.
SHORT_OVERRIDES = ("stage", "region", "account", "model_package_arn")
CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"

# train.py's hyperparameters: the names in the shipped recipe, which also gives every default.
HYPERPARAMETER_NAMES = load_recipe().names
_HYPERPARAMETER_LIST = ", ".join(HYPERPARAMETER_NAMES)
REMOVAL_POLICIES = ("retain", "destroy")
ENDPOINT_MODES = ("serverless", "realtime")
APPROVAL_STATUSES = ("Approved", "PendingManualApproval")
RANGE_TYPES = ("continuous", "integer", "categorical")
SCALING_TYPES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
# Memory sizes a SageMaker serverless endpoint accepts.
SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)
# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

_STAGE = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_ACCOUNT = re.compile(r"^\d{12}$")
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")
_MODEL_PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):\d{12}:model-package/[A-Za-z0-9-]+(/\d+)?$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FRAMEWORK_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")
_PY_VERSION = re.compile(r"^py3\d+$")


@dataclass(frozen=True)
class StorageSettings:
    """Buckets and tables: what survives a `cdk destroy`, and how long old object versions are kept."""

    removal_policy: str
    deletion_protection: bool
    noncurrent_version_expiration_days: int
    incomplete_upload_expiration_days: int
    access_log_expiration_days: int

    @property
    def retain(self) -> bool:
        """True when buckets and tables outlive their stack."""
        return self.removal_policy == "retain"


@dataclass(frozen=True)
class TrainingSettings:
    """The GPU training job the state machine runs, and how its model is published."""

    instance_type: str
    instance_count: int
    volume_size_gb: int
    max_runtime_seconds: int
    use_spot: bool
    max_wait_seconds: int
    framework_version: str
    py_version: str
    model_approval_status: str


def _plain_number(value: float | int | None) -> str:
    """`1e-06` -> `"0.000001"`: SageMaker reads range bounds as decimal strings."""
    if isinstance(value, int):
        return str(value)
    return f"{value:.12f}".rstrip("0").rstrip(".") or "0"


@dataclass(frozen=True)
class ParameterRange:
    """One tuned hyperparameter: a numeric interval or a list of categories."""

    name: str
    kind: str
    min_value: float | int | None = None
    max_value: float | int | None = None
    scaling: str = "Auto"
    values: tuple[str, ...] = ()

    def api_shape(self) -> dict[str, Any]:
        """This range as one entry of the SageMaker `ParameterRanges` lists (values are strings)."""
        if self.kind == "categorical":
            return {"Name": self.name, "Values": list(self.values)}
        return {
            "Name": self.name,
            "MinValue": _plain_number(self.min_value),
            "MaxValue": _plain_number(self.max_value),
            "ScalingType": self.scaling,
        }


@dataclass(frozen=True)
class TuningSettings:
    """Default budget and search space of the hyperparameter tuning job (the CLI may override them)."""

    max_jobs: int
    max_parallel_jobs: int
    ranges: tuple[ParameterRange, ...]

    def parameter_ranges_api(self) -> dict[str, list[dict[str, Any]]]:
        """The ranges in SageMaker's `ParameterRanges` shape, as the state machine input carries them."""
        lists: dict[str, list[dict[str, Any]]] = {
            "ContinuousParameterRanges": [],
            "IntegerParameterRanges": [],
            "CategoricalParameterRanges": [],
        }
        for parameter in self.ranges:
            lists[f"{parameter.kind.title()}ParameterRanges"].append(parameter.api_shape())
        return lists

    @property
    def tuned_names(self) -> tuple[str, ...]:
        """Hyperparameters the tuner chooses (they must not also be passed as static values)."""
        return tuple(parameter.name for parameter in self.ranges)


@dataclass(frozen=True)
class EndpointSettings:
    """The SageMaker endpoint: serverless (pay per request) or real-time (instances, autoscaling)."""

    mode: str
    serverless_memory_mb: int
    serverless_max_concurrency: int
    instance_type: str
    min_instances: int
    max_instances: int
    target_invocations_per_instance: int
    data_capture: bool
    data_capture_sampling_percent: int
    transform_instance_type: str

    @property
    def serverless(self) -> bool:
        return self.mode == "serverless"


@dataclass(frozen=True)
class CountingSettings:
    """The ingest queue and the counting Lambda."""

    decision: DecisionCosts  # the prior rate of wrong records, the cost of a look and of a missed error
    max_image_bytes: int
    batch_size: int
    max_batching_window_seconds: int
    max_concurrency: int
    max_receive_count: int
    lambda_timeout_seconds: int
    lambda_memory_mb: int
    log_retention_days: int

    @property
    def visibility_timeout_seconds(self) -> int:
        """How long a received message stays hidden from other consumers.

        Six times the function timeout, as AWS recommends for Lambda event sources: a batch whose
        invocation is throttled or retried must not reappear (and be counted twice) while the first
        attempt may still be running.
        """
        return 6 * self.lambda_timeout_seconds


@dataclass(frozen=True)
class AlarmSettings:
    """Who hears about alarms and training runs, and when the endpoint counts as slow."""

    email: str | None
    endpoint_latency_p90_ms: int


@dataclass(frozen=True)
class Settings:
    """Everything the stacks, the CLI and the local pipeline are configured with."""

    stage: str
    region: str
    account: str | None
    model_package_arn: str | None
    storage: StorageSettings
    training: TrainingSettings
    tuning: TuningSettings
    endpoint: EndpointSettings
    counting: CountingSettings
    alarms: AlarmSettings


def _storage(section: Section) -> StorageSettings:
    return StorageSettings(
        removal_policy=section.choice("removal_policy", REMOVAL_POLICIES),
        deletion_protection=section.boolean("deletion_protection"),
        noncurrent_version_expiration_days=section.integer("noncurrent_version_expiration_days", 1, 3650),
        incomplete_upload_expiration_days=section.integer("incomplete_upload_expiration_days", 1, 365),
        access_log_expiration_days=section.integer("access_log_expiration_days", 1, 3650),
    )


def _training(section: Section) -> TrainingSettings:
    instance = "an ML instance type such as 'ml.g5.xlarge'"
    settings = TrainingSettings(
        instance_type=section.required_pattern("instance_type", _INSTANCE_TYPE, instance),
        instance_count=section.integer("instance_count", 1, 16),
        volume_size_gb=section.integer("volume_size_gb", 1, 16384),
        max_runtime_seconds=section.integer("max_runtime_seconds", 60, 28 * 24 * 3600),
        use_spot=section.boolean("use_spot"),
        max_wait_seconds=section.integer("max_wait_seconds", 60, 28 * 24 * 3600),
        framework_version=section.required_pattern(
            "framework_version", _FRAMEWORK_VERSION, "a PyTorch DLC version such as '2.6'"
        ),
        py_version=section.required_pattern("py_version", _PY_VERSION, "a DLC Python tag such as 'py312'"),
        model_approval_status=section.choice("model_approval_status", APPROVAL_STATUSES),
    )
    if "default_hyperparameters" in section.values:
        raise SettingsError(
            f"{section.key('default_hyperparameters')}: training defaults live in one place now, "
            f"{RECIPE_FILE.relative_to(CDK_JSON.parent)}; remove the key from cdk.json, and pass a one-off "
            "change with `binventory train start --hp name=value`."
        )
    if settings.use_spot and settings.max_wait_seconds < settings.max_runtime_seconds:
        raise SettingsError(
            f"{section.key('max_wait_seconds')}: got {settings.max_wait_seconds}; with use_spot it must be "
            f"at least max_runtime_seconds ({settings.max_runtime_seconds})."
        )
    return settings


def _parameter_range(section: Section, hyperparameter: str) -> ParameterRange:
    if hyperparameter not in HYPERPARAMETER_NAMES:
        raise SettingsError(
            f"{section.path}: not a train.py hyperparameter; allowed names: {_HYPERPARAMETER_LIST}."
        )
    kind = section.choice("type", RANGE_TYPES)
    if kind == "categorical":
        values = section.raw("values", "a non-empty list of strings")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise SettingsError(
                f"{section.key('values')}: got {values!r}; expected a non-empty list of strings."
            )
        return ParameterRange(name=hyperparameter, kind=kind, values=tuple(values))
    if kind == "integer":
        low = section.integer("min", -(10**9), 10**9)
        high = section.integer("max", -(10**9), 10**9)
        bounds: tuple[float | int, float | int] = (low, high)
    else:
        bounds = (section.number("min", -1e9, 1e9), section.number("max", -1e9, 1e9))
    scaling = section.choice("scaling", SCALING_TYPES)
    if bounds[0] >= bounds[1]:
        raise SettingsError(
            f"{section.key('max')}: got {bounds[1]}; it must be greater than min ({bounds[0]})."
        )
    if scaling in ("Logarithmic", "ReverseLogarithmic") and bounds[0] <= 0:
        raise SettingsError(f"{section.key('min')}: got {bounds[0]}; {scaling} scaling needs min > 0.")
    if scaling == "ReverseLogarithmic" and bounds[1] >= 1:
        raise SettingsError(
            f"{section.key('max')}: got {bounds[1]}; ReverseLogarithmic scaling needs max < 1."
        )
    return ParameterRange(
        name=hyperparameter, kind=kind, min_value=bounds[0], max_value=bounds[1], scaling=scaling
    )


def _tuning(section: Section) -> TuningSettings:
    max_jobs = section.integer("max_jobs", 1, 500)
    max_parallel_jobs = section.integer("max_parallel_jobs", 1, 100)
    if max_parallel_jobs > max_jobs:
        raise SettingsError(
            f"{section.key('max_parallel_jobs')}: got {max_parallel_jobs}; "
            f"it cannot exceed max_jobs ({max_jobs})."
        )
    ranges_section = section.section("ranges")
    ranges = tuple(
        read_section(ranges_section.section(name), lambda s, name=name: _parameter_range(s, name))
        for name in list(ranges_section.values)
    )
    if not ranges:
        raise SettingsError(f"{ranges_section.path}: empty; name at least one hyperparameter to tune.")
    return TuningSettings(max_jobs=max_jobs, max_parallel_jobs=max_parallel_jobs, ranges=ranges)


def _endpoint(section: Section) -> EndpointSettings:
    instance = "an ML instance type such as 'ml.m5.large'"
    settings = EndpointSettings(
        mode=section.choice("mode", ENDPOINT_MODES),
        serverless_memory_mb=section.integer_in("serverless_memory_mb", SERVERLESS_MEMORY_MB),
        serverless_max_concurrency=section.integer("serverless_max_concurrency", 1, 200),
        instance_type=section.required_pattern("instance_type", _INSTANCE_TYPE, instance),
        min_instances=section.integer("min_instances", 1, 100),
        max_instances=section.integer("max_instances", 1, 100),
        target_invocations_per_instance=section.integer("target_invocations_per_instance", 1, 100_000),
        data_capture=section.boolean("data_capture"),
        data_capture_sampling_percent=section.integer("data_capture_sampling_percent", 1, 100),
        transform_instance_type=section.required_pattern("transform_instance_type", _INSTANCE_TYPE, instance),
    )
    if settings.max_instances < settings.min_instances:
        raise SettingsError(
            f"{section.key('max_instances')}: got {settings.max_instances}; it cannot be below "
            f"min_instances ({settings.min_instances})."
        )
    if settings.serverless and settings.data_capture:
        raise SettingsError(
            f"{section.key('data_capture')}: got true; SageMaker serverless endpoints cannot capture data. "
            f"Set {section.key('mode')} to 'realtime' or data_capture to false."
        )
    return settings


def _counting(section: Section) -> CountingSettings:
    settings = CountingSettings(
        decision=read_section(section.section("decision"), _decision),
        max_image_bytes=section.integer("max_image_bytes", 1, 100 * 1024 * 1024),
        batch_size=section.integer("batch_size", 1, 10_000),
        max_batching_window_seconds=section.integer("max_batching_window_seconds", 0, 300),
        max_concurrency=section.integer("max_concurrency", 2, 1000),
        max_receive_count=section.integer("max_receive_count", 1, 1000),
        # The visibility timeout (6x this) must stay within SQS's 12-hour maximum. At least 30 s: the
        # handler keeps 10 s back and starts a record only with 5 s left (lambdas/counter/handler.py).
        lambda_timeout_seconds=section.integer("lambda_timeout_seconds", 30, 900),
        lambda_memory_mb=section.integer("lambda_memory_mb", 128, 10240),
        log_retention_days=section.integer_in("log_retention_days", LOG_RETENTION_DAYS),
    )
    if settings.batch_size > 10 and settings.max_batching_window_seconds == 0:
        raise SettingsError(
            f"{section.key('max_batching_window_seconds')}: got 0; Lambda needs a batching window of at "
            f"least 1 second for a batch_size above 10 ({settings.batch_size})."
        )
    return settings


def _decision(section: Section) -> DecisionCosts:
    """A warehouse's own settings; contracts.decision.DEFAULT_COSTS gives the defaults and their sources."""
    return DecisionCosts(
        wrong_record_rate=section.number("wrong_record_rate", 0.0001, 0.5),
        look_cost=section.number("look_cost", 0.0001, 1_000_000.0),
        missed_error_cost=section.number("missed_error_cost", 0.0001, 1_000_000.0),
    )


def _alarms(section: Section) -> AlarmSettings:
    return AlarmSettings(
        email=section.pattern(
            "email", _EMAIL, "an e-mail address, or null for no subscription", optional=True
        ),
        endpoint_latency_p90_ms=section.integer("endpoint_latency_p90_ms", 1, 600_000),
    )


def load_settings(context: Mapping[str, Any]) -> Settings:
    """Build and validate the settings from a CDK context mapping (cdk.json `context` plus `-c` values)."""
    base = context.get(ROOT_KEY)
    if base is None:
        raise SettingsError(
            f"{ROOT_KEY}: missing from the CDK context; cdk.json must hold a '{ROOT_KEY}' object."
        )
    if not isinstance(base, Mapping):
        raise SettingsError(f"{ROOT_KEY}: expected an object of settings, got {base!r}.")
    config: dict[str, Any] = copy.deepcopy(dict(base))
    stage_overrides = config.pop("stages", {}) or {}
    if not isinstance(stage_overrides, Mapping):
        raise SettingsError(f"{ROOT_KEY}.stages: expected an object mapping a stage name to overrides.")
    stage = context.get("stage") or config.get("stage")
    if isinstance(stage, str) and stage in stage_overrides:
        override = stage_overrides[stage]
        if not isinstance(override, Mapping):
            raise SettingsError(f"{ROOT_KEY}.stages.{stage}: expected an object of settings to override.")
        config = deep_merge(config, override)
    config = apply_dotted_overrides(config, context, ROOT_KEY)
    if isinstance(config.get("account"), int):  # `-c binventory.account=...`: an account id is text, as typed
        config["account"] = str(context[f"{ROOT_KEY}.account"])
    for key in SHORT_OVERRIDES:
        if context.get(key) is not None:
            config[key] = command_line_value(context[key]) if key != "account" else str(context[key])

    root = Section(config, ROOT_KEY)
    settings = Settings(
        stage=root.required_pattern(
            "stage", _STAGE, "a lower-case name of at most 16 characters such as 'dev' or 'prod'"
        ),
        region=root.required_pattern("region", _REGION, "an AWS region such as 'us-east-1'"),
        account=root.pattern("account", _ACCOUNT, "a 12-digit AWS account id, or null", optional=True),
        model_package_arn=root.pattern(
            "model_package_arn",
            _MODEL_PACKAGE_ARN,
            "a versioned model package ARN such as "
            "'arn:aws:sagemaker:us-east-1:123456789012:model-package/binventory-dev-countnet/1', or null",
            optional=True,
        ),
        storage=read_section(root.section("storage"), _storage),
        training=read_section(root.section("training"), _training),
        tuning=read_section(root.section("tuning"), _tuning),
        endpoint=read_section(root.section("endpoint"), _endpoint),
        counting=read_section(root.section("counting"), _counting),
        alarms=read_section(root.section("alarms"), _alarms),
    )
    root.reject_unknown()
    _check_model_region(settings)
    _check_concurrency(settings)
    return settings


def _check_concurrency(settings: Settings) -> None:
    """More Lambdas than the serverless endpoint takes at once would be throttled and sent to the DLQ."""
    endpoint, counting = settings.endpoint, settings.counting
    if endpoint.serverless and counting.max_concurrency > endpoint.serverless_max_concurrency:
        raise SettingsError(
            f"{ROOT_KEY}.counting.max_concurrency: got {counting.max_concurrency}; with a serverless "
            "endpoint it cannot exceed endpoint.serverless_max_concurrency "
            f"({endpoint.serverless_max_concurrency}): each Lambda calls the endpoint one request at a time, "
            "and the calls beyond it are throttled."
        )


def _check_model_region(settings: Settings) -> None:
    if settings.model_package_arn is None:
        return
    match = _MODEL_PACKAGE_ARN.match(settings.model_package_arn)
    assert match is not None
    if match.group("region") != settings.region:
        raise SettingsError(
            f"{ROOT_KEY}.model_package_arn: the package is in {match.group('region')} but the stacks "
            f"deploy to {settings.region}; publish the model in {settings.region} or set region to match."
        )


def load_settings_from_cdk_json(path: Path | None = None) -> Settings:
    """The settings of the repository's cdk.json (no `-c` overrides): what the local pipeline uses."""
    cdk_json = path or CDK_JSON
    try:
        document = json.loads(cdk_json.read_text())
    except OSError as error:
        raise SettingsError(f"cannot read {cdk_json}: {error.strerror}.") from error
    except ValueError as error:
        raise SettingsError(f"{cdk_json} is not valid JSON: {error}.") from error
    context = document.get("context") if isinstance(document, dict) else None
    if not isinstance(context, Mapping):
        raise SettingsError(f"{cdk_json}: no 'context' object; it must hold the '{ROOT_KEY}' settings.")
    return load_settings(context)
