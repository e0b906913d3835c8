"""The benchmarks' data: the fixed split by bin of the ABID photos in ../shared (contracts/abid_split.csv).

The test part (original photos only) is what every model benchmark reports on: nothing trains or selects on
it. The speed benchmark times the same test photos the accuracy benchmark scores. No image is copied.
Labels carry the known corrections (contracts/label_corrections.csv), as training reads them.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT / "model_code"))

from countnet.data import Sample, discover_dataset  # noqa: E402

from contracts.fixed_split import read_split  # noqa: E402
from contracts.label_corrections import read_corrections  # noqa: E402

DEFAULT_ABID_DIR = PROJECT_ROOT.parent / "shared" / "abid"
RE_ENCODED_DIR = PROJECT_ROOT.parent / "shared" / "abid-224"
WORK_DIR = PROJECT_ROOT / "bench" / "out"
DEFAULT_MODEL_DIR = PROJECT_ROOT / ".local" / "models" / "abid"  # what `make model-abid` writes


def shown_path(path: Path) -> str:
    """A path as the results file shows it: relative to the checkout when inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(PROJECT_ROOT)) if resolved.is_relative_to(PROJECT_ROOT) else str(path)


def _corrected(samples: list[Sample]) -> list[Sample]:
    corrections = read_corrections()
    return [
        Sample(s.image_id, s.path, corrections[s.image_id]) if s.image_id in corrections else s
        for s in samples
    ]


def fixed_split(abid_dir: Path = DEFAULT_ABID_DIR) -> dict[str, list[Sample]]:
    """train / validation / test photos of the original ABID photos, as the committed split assigns them."""
    if not (abid_dir / "labels.csv").is_file():
        raise SystemExit(
            f"ABID sample not found at {abid_dir}: pass --abid DIR (a folder with labels.csv and images/)"
        )
    assignment = read_split()
    parts: dict[str, list[Sample]] = {"train": [], "validation": [], "test": []}
    for sample in _corrected(discover_dataset(abid_dir)):
        parts[assignment[sample.image_id]].append(sample)
    return parts


def split_photos(
    abid_dir: Path = DEFAULT_ABID_DIR, re_encoded: Path = RE_ENCODED_DIR
) -> dict[str, list[Sample]]:
    """Every photo of both folders by part (train, validation, test, held_out), as train.py reads them."""
    assignment = read_split()
    parts: dict[str, list[Sample]] = {"train": [], "validation": [], "test": [], "held_out": []}
    for folder in (abid_dir, re_encoded):
        if not (folder / "labels.csv").is_file():
            raise SystemExit(f"ABID photos not found at {folder} (labels.csv and images/)")
        for sample in _corrected(discover_dataset(folder)):
            parts[assignment[sample.image_id]].append(sample)
    return parts


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
