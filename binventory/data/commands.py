"""`binventory data ...`: fetch ABID, prepare the split, upload it for training, make synthetic bins.

`data manifest` (training on the public bucket in place) lives in binventory.data.manifest_command,
`data reviews` (the reviewed photos as training data) in binventory.data.reviews_command.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import click
from countnet.synthetic import write_synthetic_dataset

from binventory.aws_errors import AwsCommandGroup
from binventory.data import console, layout, public_bucket, sampling, subsets, uploading
from binventory.data import fetch as fetching
from binventory.data.manifest_command import manifest
from binventory.data.reviews_command import reviews
from binventory.resources import StackResources
from contracts import stack_outputs


@click.group("data", cls=AwsCommandGroup)
def data() -> None:
    """Fetch, prepare, upload and synthesise bin-image datasets."""


@data.command("fetch")
@click.option(
    "--dest",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write images/, metadata/ and labels.csv into (re-use it to resume).",
)
@click.option(
    "--subset",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="file_list.json (count -> metadata paths), a JSON list of ids, or one id per line.",
)
@click.option(
    "--per-class",
    type=click.IntRange(min=1),
    help="Take N images of each count 0..--max-count: from --subset when given, "
    "otherwise sampled from the bucket's metadata.",
)
@click.option(
    "--max-count",
    default=5,
    show_default=True,
    type=click.IntRange(min=0),
    help="Largest count --per-class samples.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the --per-class sample.")
@click.option(
    "--id-max",
    default=500_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Metadata sampling draws ids from 00001..ID_MAX; ids the bucket lacks are skipped.",
)
@click.option(
    "--max-candidates",
    type=click.IntRange(min=1),
    help="Metadata files to read at most while sampling [default: 40 x the images wanted].",
)
@click.option(
    "--workers", default=16, show_default=True, type=click.IntRange(1, 128), help="Concurrent downloads."
)
@click.option(
    "--bucket",
    default=public_bucket.PUBLIC_BUCKET,
    show_default=True,
    help="Public bucket to read (unsigned requests, no AWS account needed).",
)
def fetch(
    dest: Path,
    subset: Path | None,
    per_class: int | None,
    max_count: int,
    seed: int,
    id_max: int,
    max_candidates: int | None,
    workers: int,
    bucket: str,
) -> None:
    """Download ABID images and metadata: concurrent, verified, and resumable by re-running."""
    if subset is None and per_class is None:
        raise click.UsageError("Say what to fetch: --subset FILE, --per-class N, or both.")
    client = public_bucket.public_client(workers)
    dest.mkdir(parents=True, exist_ok=True)
    if subset is not None:
        chosen = subsets.load_subset(subset)
        if per_class is not None:
            chosen = subsets.sample_per_class(chosen, per_class, max_count, seed)
    elif per_class is not None:
        chosen = _sample_bucket(
            client,
            bucket,
            dest,
            sampling.SampleRequest(
                per_class=per_class,
                max_count=max_count,
                seed=seed,
                id_max=id_max,
                max_candidates=max_candidates or 40 * per_class * (max_count + 1),
            ),
            workers,
        )

    plan = fetching.planned_objects(dest, chosen.image_ids)
    with console.progress() as progress:
        task = progress.add_task("downloading", total=len(plan))
        report = fetching.fetch_objects(client, bucket, plan, workers, lambda: progress.advance(task))
    labelled = fetching.write_labels(dest, fetching.verified_image_ids(report), chosen.known_counts)
    _print_report(report, dest, labelled)
    if report.failed:
        raise click.ClickException(
            f"{len(report.failed)} objects failed (see above); re-run the same command to resume."
        )


def _sample_bucket(
    client: Any, bucket: str, dest: Path, request: sampling.SampleRequest, workers: int
) -> subsets.Subset:
    with console.progress() as progress:
        task = progress.add_task("sampling metadata", total=request.max_candidates)
        chosen = sampling.sample_from_metadata(
            client, bucket, dest, request, workers, lambda: progress.advance(task)
        )
    if not chosen:
        raise click.ClickException(
            f"No metadata could be read from s3://{bucket}/{public_bucket.METADATA_PREFIX}: "
            "check the network and --bucket, or widen --id-max."
        )
    short = [
        count
        for count in range(request.max_count + 1)
        if sum(1 for c in chosen.values() if c == count) < request.per_class
    ]
    if short:
        click.echo(
            f"warning: fewer than {request.per_class} images found for counts {short}; "
            "raise --max-candidates to look further.",
            err=True,
        )
    return subsets.Subset(image_ids=tuple(chosen), known_counts=chosen)


def _print_report(report: fetching.FetchReport, dest: Path, labelled: int) -> None:
    click.echo(
        f"downloaded {len(report.downloaded)}, already present and verified "
        f"{len(report.already_present)}, missing from the bucket {len(report.missing)}, "
        f"failed {len(report.failed)}"
    )
    for key in sorted(report.missing):
        click.echo(f"missing: {key}")
    for key, reason in sorted(report.failed.items()):
        click.echo(f"failed: {key}: {reason}")
    click.echo(f"{dest / fetching.LABELS_FILE}: {labelled} labelled images")


@data.command("prepare")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write train/, validation/, test/, the manifest and the plot into.",
)
@click.option(
    "--fractions",
    default="0.8,0.1,0.1",
    show_default=True,
    help="train,validation[,test] shares of every count.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the split (same seed, same split).")
@click.option(
    "--balance",
    type=click.Choice(["none", "cap"]),
    default="none",
    show_default=True,
    help="cap: keep at most --cap images per count in the train split (validation/test untouched).",
)
@click.option(
    "--cap",
    type=click.IntRange(min=1),
    help="Images per count with --balance cap [default: the median class size].",
)
@click.option(
    "--max-count",
    default=5,
    show_default=True,
    type=click.IntRange(min=0),
    help="Counts above this form one class when balancing and one column in the report.",
)
@click.option("--overwrite", is_flag=True, help="Replace an earlier preparation in --out.")
def prepare(
    source: Path,
    out: Path,
    fractions: str,
    seed: int,
    balance: str,
    cap: int | None,
    max_count: int,
    overwrite: bool,
) -> None:
    """Split a labelled image folder (fetch/synth output, labels.csv, ABID layout) into training channels."""
    # Imported here: countnet's readers pull in torch, which every other command can do without.
    from countnet.data import DatasetLayoutError

    from binventory.data import prepare as preparing

    try:
        options = preparing.PrepareOptions(
            fractions=preparing.parse_fractions(fractions),
            seed=seed,
            balance=balance,
            cap=cap,
            max_count=max_count,
        )
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--fractions") from error
    _clear_output(
        out,
        [*layout.SPLIT_NAMES, layout.MANIFEST_CSV, layout.MANIFEST_JSON, layout.DISTRIBUTION_PNG],
        overwrite,
    )
    try:
        prepared = preparing.split_samples(source, options)
    except DatasetLayoutError as error:
        raise click.ClickException(str(error)) from error
    out.mkdir(parents=True, exist_ok=True)
    preparing.write_splits(prepared, out, source, options)
    synthetic = f", {len(prepared.synthetic_ids)} of them SYNTHETIC" if prepared.synthetic_ids else ""
    title = f"{source.name}: images per count (seed {seed}{synthetic})"
    plot = preparing.plot_distribution(prepared, out / layout.DISTRIBUTION_PNG, title)
    console.print_distribution(prepared.distribution())
    total = sum(len(samples) for samples in prepared.splits.values())
    click.echo(f"{total} images{synthetic} -> {out} (manifest: {out / layout.MANIFEST_CSV}, plot: {plot})")


@data.command("upload")
@click.argument("prepared", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--workers", default=16, show_default=True, type=click.IntRange(1, 128), help="Concurrent uploads."
)
@click.pass_obj
def upload(resources: StackResources, prepared: Path, workers: int) -> None:
    """Upload a prepared folder to the dataset bucket, where the training job's channels read it."""
    try:
        plan = uploading.planned_uploads(prepared)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from error
    bucket = resources.output("storage", stack_outputs.DATASET_BUCKET_NAME)
    synthetic_ids = layout.read_synthetic_ids(prepared)
    with console.progress() as progress:
        task = progress.add_task("uploading", total=len(plan))
        report = uploading.upload(
            resources.client("s3"), bucket, plan, synthetic_ids, workers, lambda: progress.advance(task)
        )
    click.echo(
        f"s3://{bucket}/: uploaded {report.uploaded}, unchanged {report.unchanged}, "
        f"removed {len(report.deleted)} left from an earlier preparation"
    )
    if synthetic_ids:
        click.echo(
            f"note: {len(synthetic_ids)} images are SYNTHETIC (S3 metadata synthetic=true); "
            "a model trained on them says nothing about real bins."
        )
    click.echo("channels: " + ", ".join(f"s3://{bucket}/{c}/" for c in stack_outputs.DATASET_CHANNELS))


@data.command("synth")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write bin-images/, metadata/ and labels.csv into.",
)
@click.option(
    "--per-class", default=20, show_default=True, type=click.IntRange(min=1), help="Images of each count."
)
@click.option("--max-count", default=5, show_default=True, type=click.IntRange(min=0), help="Largest count.")
@click.option("--seed", default=0, show_default=True, help="Seed of the generator.")
def synth(out: Path, per_class: int, max_count: int, seed: int) -> None:
    """Generate SYNTHETIC bin-like images with known counts, for tests and demos (never real bins)."""
    write_synthetic_dataset(out, per_class=per_class, max_count=max_count, seed=seed)
    click.echo(
        f"wrote {per_class * (max_count + 1)} SYNTHETIC images (counts 0..{max_count}) to {out}: "
        'ids start with "syn-" and every metadata/<id>.json says "SYNTHETIC": true.'
    )


def _clear_output(out: Path, names: list[str], overwrite: bool) -> None:
    earlier = [out / name for name in names if (out / name).exists()]
    if earlier and not overwrite:
        raise click.ClickException(
            f"{out} already holds a preparation ({earlier[0].name}); "
            "pass --overwrite to replace it or choose another --out."
        )
    for path in earlier:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


data.add_command(manifest)
data.add_command(reviews)
