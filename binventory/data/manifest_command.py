"""`binventory data manifest`: train on the whole public ABID bucket without copying an image.

Writes SageMaker manifests for train / validation / test that list `s3://aft-vbi-pds/bin-images/<id>.jpg`,
the labels beside them, a summary and a class-count plot (binventory.data.manifests), then uploads them
to `s3://<dataset bucket>/manifests/<name>/` for `binventory train start --manifest <name>`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from binventory.data import challenge_split, console, layout, public_bucket, subsets
from binventory.resources import PROJECT_ROOT, StackResources
from binventory.training_jobs.manifest_runs import load_summary, training_plan
from contracts import abid_labels, stack_outputs
from contracts.deployment_settings import SettingsError, load_settings_from_cdk_json

if TYPE_CHECKING:
    from binventory.data.manifests import ManifestDataset

DEFAULT_CHALLENGE_DIR = PROJECT_ROOT.parent / "shared" / "abid" / "aux"
LABEL_CACHE = "metadata_labels.jsonl"
_EXAMPLES = 5


@click.command("manifest")
@click.option(
    "--split",
    type=click.Choice(["challenge", "metadata"]),
    required=True,
    help="challenge: the ABID-challenge counting split (counts 0..5; its val is the test set). "
    "metadata: every image of the bucket labelled by its metadata/<id>.json, split by --fractions.",
)
@click.option("--name", help="Name of the manifest dataset in the dataset bucket [default: the split].")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Local folder for the manifests, labels, summary and plot [default: data/manifests/<name>].",
)
@click.option(
    "--challenge-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_CHALLENGE_DIR,
    show_default=True,
    help=f"challenge: folder with {challenge_split.TRAIN_FILE} and {challenge_split.VALIDATION_FILE}.",
)
@click.option(
    "--val-fraction",
    default=0.05,
    show_default=True,
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="challenge: share of the challenge's train set held out (stratified by count) for validation.",
)
@click.option(
    "--fractions",
    default="0.9,0.05,0.05",
    show_default=True,
    help="metadata: train,validation,test shares of every count.",
)
@click.option(
    "--subset",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="metadata: label only these ids (file_list.json, a JSON list of ids, or one id per line).",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the stratified split.")
@click.option(
    "--max-count",
    default=5,
    show_default=True,
    type=click.IntRange(min=0),
    help="Counts above this share one column in the counts and the plot (the manifests keep them all).",
)
@click.option(
    "--check-bucket/--no-check-bucket",
    default=True,
    show_default=True,
    help="List the public bucket's images (~536 requests) and leave out ids it does not hold, which would "
    "otherwise fail the training job.",
)
@click.option(
    "--workers", default=32, show_default=True, type=click.IntRange(1, 256), help="metadata: reads at once."
)
@click.option("--upload/--no-upload", default=True, show_default=True, help="Upload to the dataset bucket.")
@click.option(
    "--bucket", default=public_bucket.PUBLIC_BUCKET, show_default=True, help="The public ABID bucket."
)
@click.pass_obj
def manifest(
    resources: StackResources,
    split: str,
    name: str | None,
    out: Path | None,
    challenge_dir: Path,
    val_fraction: float,
    fractions: str,
    subset: Path | None,
    seed: int,
    max_count: int,
    check_bucket: bool,
    workers: int,
    upload: bool,
    bucket: str,
) -> None:
    """Write SageMaker manifests (and their labels) that train on the public ABID images in place."""
    # Imported here: countnet's splits and readers pull in torch, which every other command can do without.
    from binventory.data import manifests

    name = name or split
    try:
        layout.check_manifest_dataset_name(name)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--name") from error
    out = out or Path("data") / "manifests" / name
    client = public_bucket.public_client(workers)
    if split == "challenge":
        dataset = _challenge(name, challenge_dir, val_fraction, seed, client, bucket, check_bucket)
    else:
        dataset = _metadata(name, out, fractions, subset, seed, client, bucket, check_bucket, workers)
    files = manifests.write_manifest_dataset(dataset, out, max_count)
    console.print_distribution(manifests.class_distribution(dataset, max_count))
    click.echo(f"wrote {out}: {', '.join(path.relative_to(out).as_posix() for path in files)}")
    target = name
    if upload:
        dataset_bucket = resources.output("storage", stack_outputs.DATASET_BUCKET_NAME)
        target = manifests.upload_manifest_dataset(resources.client("s3"), dataset_bucket, out, files, name)
        click.echo(f"uploaded to {target}")
    _echo_plan(out)
    click.echo(f"next: binventory train plan --manifest {name}; binventory train start --manifest {name}")


def _challenge(
    name: str, folder: Path, val_fraction: float, seed: int, client: Any, bucket: str, check_bucket: bool
) -> ManifestDataset:
    from binventory.data import manifests

    try:
        train, test = challenge_split.read_challenge_split(folder)
    except challenge_split.ChallengeSplitError as error:
        raise click.ClickException(
            f"{error}. The files come with the ABID sample (../shared/abid/aux) or from "
            "pablo-tech/Image-Inventory-Reconciliation-with-SVM-and-CNN (data-processing/); "
            "pass --challenge-dir."
        ) from error
    click.echo(f"challenge split: {len(train):,} train and {len(test):,} val images (labels 0..5)")
    if check_bucket:
        present = _listed_images(client, bucket)
        train, test = _keep_present(train, present, "train"), _keep_present(test, present, "val")
    train, validation = manifests.stratified_parts(train, (1 - val_fraction, val_fraction), seed)
    source = {
        "split": "challenge",
        "files": [challenge_split.TRAIN_FILE, challenge_split.VALIDATION_FILE],
        "id_rule": abid_labels.CHALLENGE_ID_RULE,
        "validation": f"{val_fraction} of the challenge's train, stratified by count, seed {seed}",
        "test": "the challenge's val",
    }
    return manifests.ManifestDataset(name, {"train": train, "validation": validation, "test": test}, source)


def _metadata(
    name: str,
    out: Path,
    fractions: str,
    subset: Path | None,
    seed: int,
    client: Any,
    bucket: str,
    check_bucket: bool,
    workers: int,
) -> ManifestDataset:
    from binventory.data import manifests, metadata_labels
    from binventory.data.prepare import parse_fractions

    try:
        shares = parse_fractions(fractions)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--fractions") from error
    if len(shares) != 3:
        raise click.BadParameter("give three shares: train,validation,test", param_hint="--fractions")
    if subset is not None:
        ids = set(subsets.load_subset(subset).image_ids)
    else:
        click.echo(f"listing s3://{bucket}/{public_bucket.METADATA_PREFIX} ...")
        ids = metadata_labels.list_ids(client, bucket, public_bucket.METADATA_PREFIX, ".json")
    if check_bucket:
        ids &= _listed_images(client, bucket)
    cache = metadata_labels.LabelCache(out / LABEL_CACHE)
    with console.progress() as progress:
        task = progress.add_task("reading metadata", total=len(ids))
        report = metadata_labels.scan_metadata(
            client, bucket, sorted(ids), cache, workers, lambda: progress.advance(task)
        )
    click.echo(
        f"metadata: {report.read:,} read now, {report.cached:,} from {cache.path} (earlier runs), "
        f"{len(report.problems):,} without a usable count, {len(report.failed):,} failed"
    )
    for image_id, problem in sorted(report.problems.items())[:_EXAMPLES]:
        click.echo(f"  left out {image_id}: {problem}")
    if report.failed:
        raise click.ClickException(
            f"{len(report.failed)} metadata reads failed (e.g. {next(iter(report.failed.items()))}); "
            "re-run the same command: it resumes from the cache."
        )
    labels = cache.counts(ids)
    train, validation, test = manifests.stratified_parts(labels, shares, seed)
    source = {
        "split": "metadata",
        "label_rule": abid_labels.LABEL_RULE,
        "subset": str(subset) if subset else None,
        "fractions": dict(zip(("train", "validation", "test"), shares, strict=True)),
        "seed": seed,
    }
    return manifests.ManifestDataset(name, {"train": train, "validation": validation, "test": test}, source)


def _listed_images(client: Any, bucket: str) -> set[str]:
    from binventory.data.metadata_labels import list_ids

    click.echo(f"listing s3://{bucket}/{public_bucket.IMAGES_PREFIX} ...")
    return list_ids(client, bucket, public_bucket.IMAGES_PREFIX, ".jpg")


def _keep_present(labels: dict[str, int], present: set[str], part: str) -> dict[str, int]:
    missing = sorted(set(labels) - present)
    if missing:
        click.echo(
            f"left out {len(missing)} {part} image(s) the bucket does not hold: "
            + ", ".join(missing[:_EXAMPLES])
            + (", ..." if len(missing) > _EXAMPLES else "")
        )
    return {image_id: count for image_id, count in labels.items() if image_id in present}


def _echo_plan(out: Path) -> None:
    """The plan line for training on what was just written, with cdk.json's instance and the recipe."""
    try:
        settings = load_settings_from_cdk_json()
    except SettingsError:
        return
    summary = load_summary(StackResources(), str(out))
    click.echo(training_plan(summary, settings, {}, input_mode="FastFile"))
