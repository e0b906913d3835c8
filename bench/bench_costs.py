"""Benchmark the figures the cost model needs, and write what a million photos cost (`costs --per-million`).

Measured here: the counting Lambda's own work per record (batch 10, every AWS call answered in-process, as
bench_handler.py's "handler alone" row) and the model's time per photo through `countnet.serving` (the
code inference.py runs: decode, prepare, predict, JSON) on real ABID photos from ../shared/abid (synthetic
JPEGs without it), with 2 threads: what a 3 GB serverless endpoint gets if it is provisioned as Lambda is
(1 vCPU per 1,769 MB; AWS does not publish serverless inference's ratio). The model is the recipe's lite0 at
its image size, packaged by the real code (untrained: the time does not depend on the weights' values).
Priced, not measured: every price (binventory/cost_model.py, dated, with sources) and the AWS round trips.
Run: .venv/bin/python bench/bench_costs.py [--quick] [--no-write]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("COUNTNET_INFERENCE_THREADS", "2")

from bench_handler import configure_lambda_environment, run_canned
from countnet.serving import load_count_model, parse_request, predict, render_response
from PIL import Image
from results import machine_description, write_section

from binventory import cost_model
from binventory.costs import _deployment, per_million_report
from binventory.toolkit.untrained_model import write_untrained_model_dir
from contracts.recipe import load_recipe

ABID_IMAGES = Path(__file__).resolve().parents[1].parent / "shared" / "abid" / "images"


def photos(count: int) -> tuple[list[bytes], str]:
    """`count` photos' bytes: real ABID JPEGs when the sample is there, else synthetic ones."""
    files = sorted(ABID_IMAGES.glob("*.jpg"))[:count] if ABID_IMAGES.is_dir() else []
    if files:
        return [path.read_bytes() for path in files], f"{len(files)} ABID photos from ../shared/abid"
    images = []
    for seed in range(count):
        buffer = io.BytesIO()
        Image.new("RGB", (500, 400), (seed * 7 % 255, 90, 160)).save(buffer, format="JPEG", quality=90)
        images.append(buffer.getvalue())
    return images, f"{count} synthetic 500 x 400 JPEGs (../shared/abid not found)"


def model_ms_per_image(images: list[bytes], repeats: int) -> tuple[float, str]:
    """Median ms per photo through countnet.serving (bytes in, JSON out), best of `repeats` passes."""
    with tempfile.TemporaryDirectory() as scratch:
        image_size = int(load_recipe().hyperparameters["image-size"])
        model_dir = write_untrained_model_dir(Path(scratch) / "model", image_size)
        model = load_count_model(model_dir)
        for body in images[:5]:  # warm up
            render_response(predict(parse_request(body, "image/jpeg"), model), "application/json")
        passes = []
        for _ in range(repeats):
            times = []
            for body in images:
                start = time.perf_counter()
                render_response(predict(parse_request(body, "image/jpeg"), model), "application/json")
                times.append((time.perf_counter() - start) * 1000)
            passes.append(statistics.median(times))
        return min(passes), f"lite0 at {image_size} px, runtime {model.runtime}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer photos and repeats (a smoke run)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    configure_lambda_environment()
    handler = run_canned(10, 100 if args.quick else 400, repeats + 1)
    handler_ms = handler.ms_per_record
    images, image_source = photos(20 if args.quick else 100)
    model_ms, model_description = model_ms_per_image(images, repeats)
    measured = replace(cost_model.MEASURED, handler_ms_per_record=handler_ms, model_ms_per_image=model_ms)
    markdown = "\n".join(
        [
            "## What a million photos cost (`bench/bench_costs.py`, `binventory costs --per-million`)",
            "",
            f"Machine: {machine_description()}; {time.strftime('%Y-%m-%d')}.",
            "",
            " ".join(
                [
                    "Measured here: the counting Lambda's own work per record,",
                    f"**{handler_ms:.2f} ms** (batch 10, every AWS call answered in-process: handler code",
                    "and botocore, no network), and the model's time per photo through `countnet.serving`",
                    f"(decode, prepare, predict, JSON), **{model_ms:.2f} ms** (median over {image_source};",
                    f"{model_description}; 2 threads, the 2 vCPUs a 3 GB serverless endpoint is taken to",
                    "get). Calls per photo from the `handler` benchmark above: 1 GetObject (2 in the ABID",
                    "layout), 1 InvokeEndpoint, 1 TransactWriteItems, a BatchGetItem per batch, a PutEvents",
                    "per flagged photo. Priced, not measured: the prices (on-demand us-east-1, transcribed",
                    f"{cost_model.PRICES_AS_OF} from the pages named in binventory/cost_model.py, not",
                    "fetched live), 25 ms of AWS round trips per photo (assumed), a 25% flag rate, 60 KB",
                    "photos. Not in the model time: the inference toolkit's own overhead per request",
                    "(TorchServe, HTTP), which the serverless bill includes: treat the endpoint line as a",
                    "lower bound.",
                ]
            ),
            "",
            per_million_report(measured, _deployment()),
        ]
    )
    print(markdown)
    if not args.no_write:
        write_section("costs", markdown)


if __name__ == "__main__":
    sys.exit(main())
