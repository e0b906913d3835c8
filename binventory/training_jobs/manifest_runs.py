"""Training on a manifest dataset: find its summary, check the run can read it, and plan what it costs.

Shared by `train start --manifest` and `train plan`, so both print the same plan for the same run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from botocore.exceptions import ClientError

from binventory.data.layout import MANIFEST_DATASET_SUMMARY, check_manifest_dataset_name
from binventory.resources import StackResources
from binventory.training_jobs import plan as planning
from binventory.training_jobs.throughput import VCPUS, UnknownInstance
from contracts import stack_outputs
from contracts.deployment_settings import Settings
from contracts.manifest_layout import (
    ADDED_TRAIN_CHANNEL,
    IMAGE_CHANNELS,
    LABELS_CHANNEL,
    MANIFEST_SUFFIX,
    labels_file_name,
)
from contracts.recipe import load_recipe

INPUT_MODES = ("FastFile", "File")


def manifest_name(value: str) -> str:
    try:
        return check_manifest_dataset_name(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--manifest") from error


def load_summary(resources: StackResources, manifest: str) -> planning.ManifestSummary:
    """The summary of manifest dataset `manifest`: a local folder `data manifest` wrote, or a name in
    the dataset bucket (`manifests/<name>/summary.json`)."""
    local = Path(manifest) / MANIFEST_DATASET_SUMMARY
    if local.is_file():
        return _parse(local.read_text(encoding="utf-8"), str(local))
    name = manifest_name(manifest)
    bucket = resources.output("storage", stack_outputs.DATASET_BUCKET_NAME)
    key = f"{stack_outputs.DATASET_MANIFESTS_PREFIX}{name}/{MANIFEST_DATASET_SUMMARY}"
    try:
        body = resources.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise click.ClickException(
                f"No manifest dataset {name!r} in s3://{bucket}/{stack_outputs.DATASET_MANIFESTS_PREFIX}: "
                f"write it with `binventory data manifest --split challenge --name {name}` "
                "(or pass a local folder)."
            ) from error
        raise
    return _parse(body.decode("utf-8"), f"s3://{bucket}/{key}")


def combined_name(base: str, added: str) -> str:
    """`challenge` + `reviews` -> `challenge-with-reviews`: the combined dataset's folder."""
    try:
        return check_manifest_dataset_name(f"{base}-with-{added}")
    except ValueError as error:
        raise click.BadParameter(
            f"{base!r} and {added!r} together make too long a dataset name ({error}); use shorter names",
            param_hint="--add-manifest",
        ) from error


def combined_summary(name: str, base: Mapping[str, Any], added: Mapping[str, Any]) -> dict[str, Any]:
    """summary.json of `base` with `added`'s train images trained on too (validation and test: base's)."""
    distribution = {channel: dict(counts) for channel, counts in base["distribution"].items()}
    train = distribution.setdefault(IMAGE_CHANNELS[0], {})
    for label, images in added["distribution"].get(IMAGE_CHANNELS[0], {}).items():
        train[label] = train.get(label, 0) + int(images)
    images = dict(base.get("images", {}))
    images[IMAGE_CHANNELS[0]] = images.get(IMAGE_CHANNELS[0], 0) + added.get("images", {}).get(
        IMAGE_CHANNELS[0], 0
    )
    return {
        "name": name,
        "prefix": base.get("prefix"),
        "added": {"name": added["name"], "prefix": added.get("prefix"), "channel": ADDED_TRAIN_CHANNEL},
        "source": {"base": base.get("source"), "added": added.get("source")},
        "images": images,
        "distribution": distribution,
    }


def combine_manifest_datasets(resources: StackResources, base: str, added: str) -> str:
    """Write `<base>-with-<added>/` in the dataset bucket: base's channels as they are, and `added`'s train
    manifest and labels as the `train_added` channel. Copies within the bucket; returns the new name."""
    s3 = resources.client("s3")
    bucket = resources.output("storage", stack_outputs.DATASET_BUCKET_NAME)
    name = combined_name(manifest_name(base), manifest_name(added))

    def key(dataset: str, file: str) -> str:
        return f"{stack_outputs.DATASET_MANIFESTS_PREFIX}{dataset}/{file}"

    summaries = {}
    for dataset in (base, added):
        try:
            body = s3.get_object(Bucket=bucket, Key=key(dataset, MANIFEST_DATASET_SUMMARY))["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise click.ClickException(
                    f"No manifest dataset {dataset!r} in "
                    f"s3://{bucket}/{stack_outputs.DATASET_MANIFESTS_PREFIX}: write it first "
                    "(`binventory data manifest` or `binventory data reviews`)."
                ) from error
            raise
        summaries[dataset] = json.loads(body)
    copies = [(base, f"{c}{MANIFEST_SUFFIX}", f"{c}{MANIFEST_SUFFIX}") for c in IMAGE_CHANNELS]
    copies += [(base, labels_path(c), labels_path(c)) for c in IMAGE_CHANNELS]
    train = IMAGE_CHANNELS[0]
    copies += [
        (added, f"{train}{MANIFEST_SUFFIX}", f"{ADDED_TRAIN_CHANNEL}{MANIFEST_SUFFIX}"),
        (added, labels_path(train), labels_path(ADDED_TRAIN_CHANNEL)),
    ]
    for dataset, source, target in copies:
        s3.copy_object(
            CopySource={"Bucket": bucket, "Key": key(dataset, source)}, Bucket=bucket, Key=key(name, target)
        )
    summary = combined_summary(name, summaries[base], summaries[added])
    s3.put_object(
        Bucket=bucket,
        Key=key(name, MANIFEST_DATASET_SUMMARY),
        Body=(json.dumps(summary, indent=2) + "\n").encode(),
        ContentType="application/json",
    )
    return name


def labels_path(channel: str) -> str:
    return f"{LABELS_CHANNEL}/{labels_file_name(channel)}"


def check_region(state_machine_arn: str) -> None:
    """A training job reads S3 only in its own region, and the public ABID bucket is in us-east-1."""
    region = state_machine_arn.split(":")[3] if state_machine_arn.count(":") >= 4 else ""
    if region != stack_outputs.PUBLIC_DATASET_REGION:
        raise click.ClickException(
            f"The training stack runs in {region or 'an unknown region'}, but manifest datasets read "
            f"s3://{stack_outputs.PUBLIC_DATASET_BUCKET} in {stack_outputs.PUBLIC_DATASET_REGION}, "
            "and a training job reads S3 only in its own region: deploy the stage to "
            f"{stack_outputs.PUBLIC_DATASET_REGION} (cdk.json `region`), or fetch and upload the images "
            "instead (`data fetch`, `data upload`)."
        )


def training_plan(
    summary: planning.ManifestSummary,
    settings: Settings,
    overrides: Mapping[str, str],
    *,
    input_mode: str,
    instance_type: str | None = None,
    spot: bool | None = None,
) -> str:
    """The plan line for training on `summary` with the recipe plus `overrides` and cdk.json's instance."""
    hyperparameters = {**load_recipe().as_strings(), **overrides}
    try:
        request = planning.PlanRequest(
            instance_type=instance_type or settings.training.instance_type,
            epochs=int(hyperparameters["epochs"]),
            image_size=int(hyperparameters["image-size"]),
            spot=settings.training.use_spot if spot is None else spot,
            input_mode=input_mode,
            max_count=int(hyperparameters["max-count"]),
            over_max=hyperparameters["over-max"],
        )
    except ValueError as error:
        raise click.BadParameter(f"a hyperparameter is not a number: {error}", param_hint="--hp") from error
    try:
        plan = planning.make_plan(summary, request, max_runtime_seconds=settings.training.max_runtime_seconds)
    except UnknownInstance as error:
        raise click.ClickException(
            f"No throughput figure for {error}: the plan knows {', '.join(VCPUS)} "
            "(see binventory/training_jobs/throughput.py and bench/bench_data_loader.py)."
        ) from error
    return planning.plan_line(plan, hyperparameters["backbone"])


def _parse(text: str, where: str) -> planning.ManifestSummary:
    try:
        return planning.ManifestSummary.from_document(json.loads(text))
    except ValueError as error:
        raise click.ClickException(f"{where}: {error}") from error
