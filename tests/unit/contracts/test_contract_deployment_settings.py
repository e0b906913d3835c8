"""The settings object: defaults from cdk.json, `-c` overrides, and errors that name the bad key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from deployment_context import CDK_CONTEXT, MODEL_PACKAGE_ARN, context_with

from contracts.decision import DEFAULT_COSTS
from contracts.deployment_settings import SettingsError, load_settings, load_settings_from_cdk_json


@pytest.mark.parametrize("passed", ["123456789012", "012345678901"])
def test_an_account_passed_as_a_settings_key_stays_the_account_id_typed(passed: str) -> None:
    # `-c binventory.account=...`: cdk.json holds null there, so the text must not become a number
    settings = load_settings(context_with({"binventory.account": passed}))

    assert settings.account == passed


def test_committed_cdk_json_gives_the_documented_defaults() -> None:
    # when
    settings = load_settings_from_cdk_json()

    # then
    assert (settings.stage, settings.region, settings.account) == ("dev", "us-east-1", None)
    assert settings.model_package_arn is None
    assert settings.counting.max_receive_count == 5
    assert settings.counting.decision == DEFAULT_COSTS  # sources in contracts/decision.py
    assert settings.counting.max_image_bytes == 4_000_000  # below the serverless endpoint payload limit
    assert settings.counting.visibility_timeout_seconds == 6 * settings.counting.lambda_timeout_seconds
    assert settings.endpoint.mode == "serverless"
    assert settings.training.instance_type == "ml.g5.2xlarge"
    assert settings.training.use_spot


def test_tuning_ranges_convert_to_the_sagemaker_parameter_ranges_shape() -> None:
    tuning = load_settings_from_cdk_json().tuning

    ranges = tuning.parameter_ranges_api()

    assert set(ranges) == {
        "ContinuousParameterRanges",
        "IntegerParameterRanges",
        "CategoricalParameterRanges",
    }
    lr = next(item for item in ranges["ContinuousParameterRanges"] if item["Name"] == "lr")
    assert lr == {"Name": "lr", "MinValue": "0.0001", "MaxValue": "0.003", "ScalingType": "Logarithmic"}
    assert {"Name": "loss", "Values": ["ce", "ordinal"]} in ranges["CategoricalParameterRanges"]
    assert sorted(item["Name"] for entries in ranges.values() for item in entries) == sorted(
        tuning.tuned_names
    )


def test_stage_override_applies_that_stages_settings() -> None:
    # given: what `npx cdk deploy -c stage=prod` passes
    settings = load_settings(context_with({"stage": "prod"}))

    assert settings.stage == "prod"
    assert settings.storage.retain and settings.storage.deletion_protection
    assert settings.endpoint.mode == "realtime"


def test_command_line_overrides_arrive_as_strings_and_are_parsed() -> None:
    settings = load_settings(
        context_with(
            {
                "model_package_arn": MODEL_PACKAGE_ARN,
                "account": "012345678901",
                "region": "us-east-1",
                "binventory.counting.batch_size": "20",
                "binventory.endpoint.data_capture": "false",
            }
        )
    )

    assert settings.model_package_arn == MODEL_PACKAGE_ARN
    assert settings.account == "012345678901"
    assert settings.counting.batch_size == 20
    assert settings.endpoint.data_capture is False


def _without(path: str) -> dict[str, Any]:
    context = copy.deepcopy(CDK_CONTEXT)
    *parents, leaf = path.split(".")
    section = context
    for part in parents:
        section = section[part]
    del section[leaf]
    return context


@pytest.mark.parametrize(
    ("overrides", "named_key", "hint"),
    [
        ({"binventory.endpoint.mode": "fast"}, "binventory.endpoint.mode", "'serverless', 'realtime'"),
        (
            {"binventory.storage.removal_policy": "keep"},
            "binventory.storage.removal_policy",
            "'retain', 'destroy'",
        ),
        (
            {"binventory.counting.decision.wrong_record_rate": "0.9"},
            "binventory.counting.decision.wrong_record_rate",
            "0.0001 to 0.5",
        ),
        (
            {"binventory.training.instance_type": "g5.xlarge"},
            "binventory.training.instance_type",
            "ml.g5.xlarge",
        ),
        (
            {"binventory.endpoint.serverless_memory_mb": "1000"},
            "binventory.endpoint.serverless_memory_mb",
            "1024",
        ),
        ({"binventory.counting.log_retention_days": "31"}, "binventory.counting.log_retention_days", "30"),
        ({"binventory.tuning.max_parallel_jobs": "9"}, "binventory.tuning.max_parallel_jobs", "max_jobs"),
        ({"binventory.tuning.ranges.lr.min": "0.5"}, "binventory.tuning.ranges.lr.max", "greater than min"),
        (
            {"binventory.tuning.ranges.lr.scaling": "Cubic"},
            "binventory.tuning.ranges.lr.scaling",
            "'Logarithmic'",
        ),
        (
            {"binventory.tuning.ranges.depth": {"type": "integer", "min": 1, "max": 5, "scaling": "Auto"}},
            "binventory.tuning.ranges.depth",
            "backbone",
        ),
        (
            {"binventory.training.default_hyperparameters": {"epochs": "30"}},
            "binventory.training.default_hyperparameters",
            "contracts/recipe.json",
        ),
        (
            {"binventory.training.max_wait_seconds": "600"},
            "binventory.training.max_wait_seconds",
            "use_spot",
        ),
        ({"binventory.endpoint.data_capture": "true"}, "binventory.endpoint.data_capture", "serverless"),
        (
            {"binventory.counting.max_batching_window_seconds": "0", "binventory.counting.batch_size": "50"},
            "binventory.counting.max_batching_window_seconds",
            "batch_size",
        ),
        ({"binventory.counting.batchsize": "5"}, "binventory.counting.batchsize", "batch_size"),
        # Below 30 s the handler's safety margin and per-record minimum leave no time to count anything.
        (
            {"binventory.counting.lambda_timeout_seconds": "20"},
            "binventory.counting.lambda_timeout_seconds",
            "30 to 900",
        ),
        # More Lambdas than the serverless endpoint takes at once: the calls beyond it would be throttled.
        (
            {"binventory.counting.max_concurrency": "6"},
            "binventory.counting.max_concurrency",
            "serverless_max_concurrency (5)",
        ),
        ({"stage": "Prod!"}, "binventory.stage", "lower-case"),
        ({"region": "moon-1"}, "binventory.region", "us-east-1"),
        ({"account": "12345"}, "binventory.account", "12-digit"),
        ({"model_package_arn": "my-model"}, "binventory.model_package_arn", "model-package/"),
        (
            {"model_package_arn": MODEL_PACKAGE_ARN.replace("us-east-1", "eu-west-1")},
            "model_package_arn",
            "us-east-1",
        ),
    ],
)
def test_a_bad_value_fails_with_a_message_naming_the_key_and_what_it_accepts(
    overrides: dict[str, str], named_key: str, hint: str
) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(context_with(overrides))

    assert named_key in str(error.value)
    assert hint in str(error.value)


def test_a_real_time_endpoint_takes_more_concurrent_lambdas_than_a_serverless_one_would() -> None:
    settings = load_settings(
        context_with({"binventory.endpoint.mode": "realtime", "binventory.counting.max_concurrency": "20"})
    )

    assert settings.counting.max_concurrency == 20


def test_a_missing_value_fails_naming_the_key() -> None:
    with pytest.raises(SettingsError, match=r"binventory\.counting\.batch_size: missing"):
        load_settings(_without("binventory.counting.batch_size"))


def test_context_without_binventory_settings_says_what_cdk_json_needs() -> None:
    with pytest.raises(SettingsError, match=r"cdk\.json must hold a 'binventory' object"):
        load_settings({"@aws-cdk/core:target-partitions": ["aws"]})


def test_unreadable_cdk_json_is_reported_with_its_path(tmp_path: Path) -> None:
    broken = tmp_path / "cdk.json"
    broken.write_text("{ not json")

    with pytest.raises(SettingsError, match="not valid JSON"):
        load_settings_from_cdk_json(broken)
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings_from_cdk_json(tmp_path / "missing.json")
