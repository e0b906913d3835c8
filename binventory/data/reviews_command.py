"""`binventory data reviews`: the reviewed photos as a local training folder and a manifest dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from binventory.data import manifests
from binventory.data.reviews import (
    DEFAULT_SEED,
    IMAGES_DIR,
    LABELS_FILE,
    ReviewedPhoto,
    reviewed_set,
    write_local_folder,
)
from binventory.resources import StackResources
from contracts import stack_outputs
from contracts.inventory_schema import s3_version_id
from contracts.manifest_layout import IMAGE_CHANNELS
from contracts.recipe import load_recipe
from lambdas.review.api import ReviewRepository

MANIFEST_FOLDER = "manifest"


@click.command("reviews")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/reviews"),
    show_default=True,
    help="Local folder: labels.csv, split.csv, images/ (photos already there are not fetched again).",
)
@click.option(
    "--name", default="reviews", show_default=True, help="Manifest dataset name in the dataset bucket."
)
@click.option("--seed", default=DEFAULT_SEED, show_default=True, help="Seed of the split by bin id.")
@click.option("--local-only", is_flag=True, help="Write the local folder only, not the manifest dataset.")
@click.pass_obj
def reviews(resources: StackResources, out: Path, name: str, seed: int, local_only: bool) -> None:
    """Every resolved flag's photo with its reviewed count, for training.

    CONFIRMED photos are labelled with the expected quantity, CORRECTED ones with the count the reviewer
    entered; UNREADABLE ones are left out (and counted). Bins are split 70/15/15 into train, validation
    and test by a seeded hash of the bin id, so a bin stays in its part as reviews grow. Writes the local
    folder (`binventory local train --add-data DIR`) and, unless --local-only, the manifest dataset
    `manifests/NAME/` in the dataset bucket (`binventory train start --manifest NAME`).
    """
    resources = resources or StackResources()
    ingest_bucket = resources.output("storage", stack_outputs.INGEST_BUCKET_NAME)
    repository = ReviewRepository(
        resources.client("dynamodb"),
        inventory_table=resources.inventory_table,
        bin_state_table=resources.bin_state_table,
    )
    found = reviewed_set(repository.resolved_flags(), ingest_bucket=ingest_bucket, seed=seed)
    if not found.photos:
        raise click.ClickException(
            f"No reviewed photo with a count yet ({found.unreadable} unreadable): resolve flags first "
            "(`binventory review list`, or the review page)."
        )
    s3 = resources.client("s3")

    def read_photo(photo: ReviewedPhoto) -> bytes:
        request: dict[str, Any] = {"Bucket": photo.bucket, "Key": photo.key}
        version_id = s3_version_id(photo.version)
        if version_id:
            request["VersionId"] = version_id
        return s3.get_object(**request)["Body"].read()

    fetched = write_local_folder(found.photos, out, read_photo)
    parts, bins = found.per_part(), found.bins_per_part()
    click.echo(
        f"{len(found.photos)} reviewed photos ({fetched} fetched now) "
        f"in {out}/{LABELS_FILE} and {out}/{IMAGES_DIR}/: "
        + ", ".join(f"{part} {parts[part]} ({bins[part]} bins)" for part in IMAGE_CHANNELS)
        + f"; left out: {found.unreadable} unreadable"
        + (f", {found.outside_bucket} outside the ingest bucket" if found.outside_bucket else "")
        + "."
    )
    if local_only:
        return
    empty = [part for part in IMAGE_CHANNELS if not parts[part]]
    if empty:
        raise click.ClickException(
            f"The manifest dataset needs reviewed bins in every part, and {', '.join(empty)} has none yet "
            f"({len(found.photos)} photos of {sum(bins.values())} bins). The local folder {out} is written; "
            "resolve more flags, or use --local-only."
        )
    dataset_bucket = resources.output("storage", stack_outputs.DATASET_BUCKET_NAME)
    folder = f"{stack_outputs.DATASET_MANIFESTS_PREFIX}{name}/{IMAGES_DIR}/"
    for photo in found.photos:
        source: dict[str, str] = {"Bucket": photo.bucket, "Key": photo.key}
        version_id = s3_version_id(photo.version)
        if version_id:
            source["VersionId"] = version_id
        s3.copy_object(CopySource=source, Bucket=dataset_bucket, Key=f"{folder}{photo.image_id}.jpg")
    dataset = manifests.ManifestDataset(
        name=name,
        channels={
            part: {p.image_id: p.count for p in found.photos if p.part == part} for part in IMAGE_CHANNELS
        },
        source={"split": "reviews", "seed": seed, "unreadable_left_out": found.unreadable},
        prefix=f"s3://{dataset_bucket}/{folder}",
    )
    local_manifest = out / MANIFEST_FOLDER
    max_count = int(load_recipe().hyperparameters["max-count"])
    files = manifests.write_manifest_dataset(dataset, local_manifest, max_count)
    target = manifests.upload_manifest_dataset(s3, dataset_bucket, local_manifest, files, name)
    click.echo(f"Manifest dataset {name}: {target} (train on it: binventory train start --manifest {name}).")
