"""The fixed, seeded ABID benchmark split (counts 1..5) shared by the model benchmarks.

The accuracy benchmark trains on it and the speed benchmark measures each serving variant's accuracy
on its test part, so both must cut the same split: this module is the one place that does.
Split folders hold a labels.csv and an `images` link to the sample; no image is copied.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT / "model_code"))

from countnet.data import Sample, discover_dataset  # noqa: E402
from countnet.splits import stratified_split  # noqa: E402

DEFAULT_ABID_DIR = PROJECT_ROOT.parent / "shared" / "abid"
WORK_DIR = PROJECT_ROOT / "bench" / "out"
COUNTS = range(1, 6)
FRACTIONS = (0.7, 0.15, 0.15)
SEED = 0


def benchmark_split(abid_dir: Path = DEFAULT_ABID_DIR) -> dict[str, list[Sample]]:
    """train/validation/test of the ABID sample's images holding 1..5 items (70/15/15, seed 0)."""
    if not (abid_dir / "labels.csv").is_file():
        raise SystemExit(
            f"ABID sample not found at {abid_dir}: pass --abid DIR (a folder with labels.csv and images/)"
        )
    samples = [s for s in discover_dataset(abid_dir) if s.count in COUNTS]
    train, validation, test = stratified_split(samples, FRACTIONS, seed=SEED)
    return {"train": train, "validation": validation, "test": test}


def write_split_dirs(splits: dict[str, list[Sample]], out_dir: Path) -> dict[str, Path]:
    """One folder per split with labels.csv and `images` linked to where the images are."""
    folders = {}
    for name, samples in splits.items():
        folder = out_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        image_dirs = {sample.path.parent for sample in samples}
        if len(image_dirs) != 1:
            raise ValueError(f"split {name} spans several image folders: {sorted(map(str, image_dirs))}")
        link = folder / "images"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(image_dirs.pop(), target_is_directory=True)
        with (folder / "labels.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["image_id", "expected_quantity"])
            writer.writerows((sample.image_id, sample.count) for sample in samples)
        folders[name] = folder
    return folders


def load_average() -> str:
    """The 1/5/15-minute load average: other work on the machine slows every figure down."""
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"
