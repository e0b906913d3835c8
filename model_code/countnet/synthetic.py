"""Generated bin-like photos whose item count is obvious, for tests and the offline demo.

Every image is synthetic and labelled as such (`metadata/<id>.json` carries `"SYNTHETIC": true`):
a bin interior with walls and strips of tape, and N coloured boxes placed in distinct cells of a
grid so none overlaps another. They let the whole pipeline run without real data; accuracy on them
says nothing about accuracy on real bins.
"""

from __future__ import annotations

import colorsys
import csv
import json
import math
import random
from pathlib import Path

from PIL import Image, ImageDraw

from contracts.abid_labels import EXPECTED_QUANTITY_FIELD, ITEM_QUANTITY_FIELD, ITEMS_FIELD

SYNTHETIC_ID_PREFIX = "syn-"
GENERATOR_NAME = "countnet.synthetic"


def _random_colour(rng: random.Random, saturation: tuple[float, float], value: tuple[float, float]) -> tuple:
    red, green, blue = colorsys.hsv_to_rgb(rng.random(), rng.uniform(*saturation), rng.uniform(*value))
    return round(red * 255), round(green * 255), round(blue * 255)


def _draw_bin(
    draw: ImageDraw.ImageDraw, width: int, height: int, rng: random.Random
) -> tuple[int, int, int, int]:
    """Walls and interior; returns the interior box where items go."""
    wall = _random_colour(rng, (0.0, 0.25), (0.55, 0.8))
    interior = _random_colour(rng, (0.0, 0.3), (0.15, 0.4))
    draw.rectangle((0, 0, width, height), fill=wall)
    margin_x, margin_y = round(width * rng.uniform(0.05, 0.09)), round(height * rng.uniform(0.06, 0.1))
    box = (margin_x, margin_y, width - margin_x, height - margin_y)
    draw.rectangle(box, fill=interior)
    tape = _random_colour(rng, (0.0, 0.4), (0.6, 0.9))
    for _ in range(rng.randint(1, 3)):
        y = rng.randint(box[1], box[3])
        draw.line((box[0], y, box[2], y + rng.randint(-3, 3)), fill=tape, width=max(1, height // 90))
    return box


def render_bin_image(count: int, rng: random.Random, size: int = 128) -> Image.Image:
    """A `size`-wide, 3:4 landscape bin photo holding `count` non-overlapping coloured boxes."""
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}")
    width, height = size, round(size * 0.75)
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = _draw_bin(draw, width, height, rng)
    grid = max(3, math.ceil(math.sqrt(count)))
    cell_w, cell_h = (right - left) / grid, (bottom - top) / grid
    for cell in rng.sample(range(grid * grid), count):
        column, row = cell % grid, cell // grid
        box_w, box_h = cell_w * rng.uniform(0.55, 0.85), cell_h * rng.uniform(0.55, 0.85)
        x0 = left + column * cell_w + rng.uniform(0, cell_w - box_w)
        y0 = top + row * cell_h + rng.uniform(0, cell_h - box_h)
        colour = _random_colour(rng, (0.55, 1.0), (0.6, 1.0))
        outline = tuple(channel // 2 for channel in colour)
        draw.rectangle(
            (x0, y0, x0 + box_w, y0 + box_h), fill=colour, outline=outline, width=max(1, size // 100)
        )
        label = (x0 + box_w * 0.2, y0 + box_h * 0.3, x0 + box_w * 0.6, y0 + box_h * 0.5)
        draw.rectangle(label, fill=(235, 235, 235))
    return image


def write_synthetic_dataset(out_dir: Path, per_class: int, max_count: int = 5, seed: int = 0) -> Path:
    """Write `per_class` images of every count 0..max_count in the ABID layout; returns `out_dir`.

    Layout: `bin-images/syn-00001.jpg`, `metadata/syn-00001.json` (EXPECTED_QUANTITY, one
    BIN_FCSKU_DATA entry per box, `"SYNTHETIC": true`) and `labels.csv` (image_id,expected_quantity).
    """
    out_dir = Path(out_dir)
    (out_dir / "bin-images").mkdir(parents=True, exist_ok=True)
    (out_dir / "metadata").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    counts = [count for count in range(max_count + 1) for _ in range(per_class)]
    rng.shuffle(counts)
    rows = []
    for number, count in enumerate(counts, start=1):
        image_id = f"{SYNTHETIC_ID_PREFIX}{number:05d}"
        render_bin_image(count, rng).save(out_dir / "bin-images" / f"{image_id}.jpg", quality=90)
        metadata = {
            EXPECTED_QUANTITY_FIELD: count,
            ITEMS_FIELD: {
                f"SYN{item:07d}": {"asin": f"SYN{item:07d}", "name": "synthetic box", ITEM_QUANTITY_FIELD: 1}
                for item in range(count)
            },
            "SYNTHETIC": True,
            "GENERATOR": GENERATOR_NAME,
        }
        (out_dir / "metadata" / f"{image_id}.json").write_text(json.dumps(metadata, indent=2))
        rows.append((image_id, count))
    with (out_dir / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "expected_quantity"])
        writer.writerows(rows)
    return out_dir
