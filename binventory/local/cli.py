"""`binventory local ...`: the whole pipeline on this machine, and the model server on its own."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from binventory.local.emulator import PortInUseError

DEFAULT_WORK_DIR = Path(".local")


@click.group("local")
def local_group() -> None:
    """Run the counting pipeline on this machine: moto for AWS, a local server for the endpoint."""


@local_group.command("demo")
@click.option(
    "--images",
    type=click.Path(path_type=Path),
    default=None,
    help="Labelled images to upload: an ABID-style folder (e.g. ../shared/abid), a labels CSV folder, "
    "or one folder per count. Default: generated synthetic bin images.",
)
@click.option(
    "--model",
    type=click.Path(path_type=Path),
    default=None,
    help="A trained model directory or model.tar.gz. Default: train (or reuse) a small demo model.",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Upload at most this many images.")
@click.option(
    "--plant-errors",
    type=click.FloatRange(0, 1),
    default=None,
    help="Fraction of images whose expected quantity is made wrong on purpose "
    "(default 0.2 for synthetic data, 0 for --images).",
)
@click.option(
    "--keep-running",
    is_flag=True,
    help="Leave moto and the model server up, print the AWS_ENDPOINT_URL_* exports, and serve the review "
    "page on 127.0.0.1 (its address is printed).",
)
@click.option(
    "--report",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the HTML report (default: <work dir>/report/index.html).",
)
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_WORK_DIR,
    show_default=True,
    help="Where models, generated data, logs and reports go.",
)
@click.option(
    "--aws-port", type=click.IntRange(0, 65535), default=0, help="Port for moto (0: any free port)."
)
@click.option(
    "--model-port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Port for the model server (0: any free port).",
)
@click.option(
    "--review-port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Port for the review page with --keep-running (0: any free port).",
)
def demo_command(
    images: Path | None,
    model: Path | None,
    limit: int | None,
    plant_errors: float | None,
    keep_running: bool,
    report: Path | None,
    work_dir: Path,
    aws_port: int,
    model_port: int,
    review_port: int,
) -> None:
    """Upload bin images, count them with the model, reconcile, and print the result."""
    from binventory.local.demo import DemoOptions, run_demo
    from binventory.local.pipeline import LocalPipelineError

    options = DemoOptions(
        work_dir=work_dir,
        images=images,
        model=model,
        limit=limit,
        plant_errors=plant_errors,
        keep_running=keep_running,
        report=report,
        aws_port=aws_port,
        model_port=model_port,
        review_port=review_port,
    )
    try:
        exit_code = run_demo(options)
    except (PortInUseError, LocalPipelineError) as error:
        raise click.ClickException(str(error)) from error
    except KeyboardInterrupt:
        raise click.Abort() from None
    exit_now(exit_code)


def exit_now(code: int) -> None:
    """Leave as soon as everything the demo started has stopped and its output is written.

    Every server and child process is stopped by then; what is left is the interpreter tearing down torch,
    moto and their threads, which took seconds on a busy machine after Ctrl-C. Under a test runner (which
    calls the command in its own process) the ordinary exit is kept.
    """
    if os.environ.get("PYTEST_CURRENT_TEST"):
        raise SystemExit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


@local_group.command("train")
@click.option(
    "--model-dir",
    type=click.Path(path_type=Path),
    default=Path(".local/models/abid"),
    show_default=True,
    help="Where the model directory goes (code/inference.py inside, as SageMaker gets it).",
)
@click.option("--hp", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a recipe value.")
@click.option(
    "--add-data",
    "add_data",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Also train on this labelled folder (labels.csv), e.g. the reviewed photos of `binventory data "
    "reviews`. Repeatable.",
)
@click.option(
    "--data",
    "data",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Train on this labelled folder instead of ../shared's ABID sample (split seeded by train.py). "
    "Repeatable.",
)
def train_command(
    model_dir: Path, overrides: tuple[str, ...], add_data: tuple[Path, ...], data: tuple[Path, ...]
) -> None:
    """Train the shipped recipe on ../shared/abid and ../shared/abid-224 on this machine."""
    from binventory.local.recipe_training import MissingTrainingData, plan_recipe_run, run_recipe
    from binventory.training_jobs.execution_input import parse_overrides

    try:
        run = plan_recipe_run(model_dir, parse_overrides(overrides), data=data, add_data=add_data)
    except MissingTrainingData as error:
        raise click.ClickException(str(error)) from error
    click.echo("$ " + " ".join(run.command[1:]))
    raise SystemExit(run_recipe(run))


@local_group.command("serve-model")
@click.option(
    "--model",
    type=click.Path(path_type=Path),
    required=True,
    help="A trained model directory or model.tar.gz.",
)
@click.option("--endpoint-name", default="binventory-local-counter", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
def serve_model_command(model: Path, endpoint_name: str, port: int) -> None:
    """Serve a model over the SageMaker Runtime API and the container's /ping and /invocations."""
    from binventory.local import model_server

    model_server.main(["--model", str(model), "--endpoint-name", endpoint_name, "--port", str(port)])
