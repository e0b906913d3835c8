"""Reading labelled bin images in the layouts ABID is published in, with image ids kept as strings.

Layouts (`discover_dataset` tells them apart):
- labels CSV: `labels.csv` with `image_id,expected_quantity` (extra columns ignored), images in
  `bin-images/` or `images/` beside it;
- ABID: `bin-images/<id>.jpg` with `metadata/<id>.json`, labelled by the ABID label rule
  (`contracts.abid_labels`: `EXPECTED_QUANTITY`, else the sum of the `BIN_FCSKU_DATA` quantities);
- subset list: `file_list.json` mapping a count to metadata paths (`{"3": ["data/metadata/01013.json"]}`);
- folder per count: `<root>/<count>/<id>.jpg`;
- manifest channel: the images a SageMaker manifest lists, mounted by key (`<channel>/<id>.jpg`),
  labelled by `labels/<channel>.csv` in the sibling labels channel (see `contracts.manifest_layout`).
Image ids are strings everywhere: `1013` and `01013` are different photos.
Labels whose image is missing are skipped with one summary warning, not one line each.
"""

from __future__ import annotations

import csv
import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from contracts.abid_labels import MalformedExpectation, metadata_count, parse_quantity
from contracts.manifest_layout import labels_file_for

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
IMAGE_DIR_NAMES = ("bin-images", "images")
LABELS_CSV_NAME = "labels.csv"
FILE_LIST_NAME = "file_list.json"
METADATA_DIR_NAME = "metadata"
_EXAMPLES_IN_WARNINGS = 10


class DatasetLayoutError(ValueError):
    """The folder or file matches none of the layouts, or its labels cannot be read."""


@dataclass(frozen=True)
class Sample:
    """One labelled image: its string id, where the file is, and how many items the bin holds."""

    image_id: str
    path: Path
    count: int


def _index_images(image_dir: Path) -> dict[str, Path]:
    """Image files of one folder by id (file stem), listed once instead of one stat per label."""
    if not image_dir.is_dir():
        return {}
    return {p.stem: p for p in sorted(image_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}


def _find_image_dir(root: Path) -> Path:
    for name in IMAGE_DIR_NAMES:
        if (root / name).is_dir():
            return root / name
    return root


def _examples(ids: Iterable[str]) -> str:
    ids = list(ids)
    shown = ", ".join(ids[:_EXAMPLES_IN_WARNINGS])
    return shown + (
        f", ... ({len(ids) - _EXAMPLES_IN_WARNINGS} more)" if len(ids) > _EXAMPLES_IN_WARNINGS else ""
    )


def _attach_images(labels: dict[str, int], images: dict[str, Path], source: str) -> list[Sample]:
    missing = [image_id for image_id in labels if image_id not in images]
    if missing:
        logger.warning(
            "%d labelled image(s) in %s have no image file and are skipped: %s",
            len(missing),
            source,
            _examples(missing),
        )
    return sorted(
        (
            Sample(image_id, images[image_id], count)
            for image_id, count in labels.items()
            if image_id in images
        ),
        key=lambda sample: sample.image_id,
    )


def _parse_count(value: object) -> int | None:
    """A count by the one whole-number rule (`contracts.abid_labels.parse_quantity`), or None."""
    try:
        return parse_quantity(value)
    except MalformedExpectation:
        return None


def read_labels_csv(csv_path: Path, image_dir: Path | None = None) -> list[Sample]:
    """`image_id,expected_quantity` rows; images in `image_dir` or `bin-images/`/`images/` beside the CSV."""
    csv_path = Path(csv_path)
    image_dir = image_dir or _find_image_dir(csv_path.parent)
    labels: dict[str, int] = {}
    bad_rows: list[str] = []
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        if not {"image_id", "expected_quantity"} <= columns:
            raise DatasetLayoutError(
                f"{csv_path} needs the columns image_id and expected_quantity; it has {sorted(columns)}"
            )
        for line_number, row in enumerate(reader, start=2):
            image_id = (row["image_id"] or "").strip()
            count = _parse_count(row["expected_quantity"])
            if not image_id or count is None:
                bad_rows.append(f"line {line_number}")
            elif image_id in labels and labels[image_id] != count:
                bad_rows.append(f"line {line_number} (id {image_id} listed twice with different counts)")
            else:
                labels[image_id] = count
    if bad_rows:
        logger.warning(
            "%d row(s) of %s have no usable image_id/expected_quantity and are skipped: %s",
            len(bad_rows),
            csv_path,
            _examples(bad_rows),
        )
    return _attach_images(labels, _index_images(image_dir), str(csv_path))


def read_abid_layout(root: Path) -> list[Sample]:
    """ABID as published: `bin-images/<id>.jpg` labelled by `metadata/<id>.json`."""
    root = Path(root)
    labels: dict[str, int] = {}
    unusable: list[str] = []
    for metadata_path in sorted((root / METADATA_DIR_NAME).glob("*.json")):
        try:
            count = metadata_count(json.loads(metadata_path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            count = None
        if count is None:
            unusable.append(metadata_path.name)
        else:
            labels[metadata_path.stem] = count
    if unusable:
        logger.warning(
            "%d metadata file(s) stating no usable count (contracts.abid_labels) are skipped: %s",
            len(unusable),
            _examples(unusable),
        )
    return _attach_images(labels, _index_images(_find_image_dir(root)), str(root / METADATA_DIR_NAME))


def read_file_list(file_list_path: Path, image_dir: Path | None = None) -> list[Sample]:
    """The subset-list format: `{"<count>": ["<dir>/metadata/<id>.json", ...]}`."""
    file_list_path = Path(file_list_path)
    try:
        listing = json.loads(file_list_path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise DatasetLayoutError(f"{file_list_path} is not valid JSON: {error}") from error
    if not isinstance(listing, dict):
        raise DatasetLayoutError(f"{file_list_path} must map a count to a list of metadata paths")
    labels: dict[str, int] = {}
    for key, paths in listing.items():
        count = _parse_count(key)
        if count is None or not isinstance(paths, list):
            raise DatasetLayoutError(f"{file_list_path}: key {key!r} is not a count with a list of paths")
        for entry in paths:
            labels[PurePosixPath(str(entry)).stem] = count
    images = _index_images(image_dir or _find_image_dir(file_list_path.parent))
    return _attach_images(labels, images, str(file_list_path))


def read_folder_per_count(root: Path) -> list[Sample]:
    """`<root>/<count>/<id>.jpg`: the folder name is the label."""
    root = Path(root)
    samples = [
        Sample(image_path.stem, image_path, int(count_dir.name))
        for count_dir in _count_dirs(root)
        for image_path in _index_images(count_dir).values()
    ]
    duplicated = [image_id for image_id, n in Counter(s.image_id for s in samples).items() if n > 1]
    if duplicated:
        raise DatasetLayoutError(
            f"{root}: image id(s) found under more than one count folder: {_examples(duplicated)}; "
            "each image must have one label"
        )
    return sorted(samples, key=lambda sample: sample.image_id)


def read_manifest_channel(channel_dir: Path) -> list[Sample]:
    """A manifest channel as SageMaker mounts it: `<id>.jpg` by key, labels in `../labels/<channel>.csv`.

    The folder is listed once (no stat per image): with FastFile input every stat can be a request
    to S3.
    """
    channel_dir = Path(channel_dir)
    return read_labels_csv(labels_file_for(channel_dir), image_dir=channel_dir)


def _count_dirs(root: Path) -> list[Path]:
    return sorted((p for p in root.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))


def detect_layout(path: Path) -> str:
    """Which layout `path` holds.

    One of `labels_csv`, `abid`, `file_list`, `folder_per_count` or `manifest_channel`.
    """
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() == ".csv":
            return "labels_csv"
        if path.suffix.lower() == ".json":
            return "file_list"
    elif path.is_dir():
        if (path / LABELS_CSV_NAME).is_file():
            return "labels_csv"
        if (path / METADATA_DIR_NAME).is_dir() and any((path / METADATA_DIR_NAME).glob("*.json")):
            return "abid"
        if (path / FILE_LIST_NAME).is_file():
            return "file_list"
        if _count_dirs(path):
            return "folder_per_count"
        if labels_file_for(path).is_file():
            return "manifest_channel"
    raise DatasetLayoutError(
        f"{path} is not a dataset this code reads. Expected a labels CSV (image_id,expected_quantity), "
        f"a folder with {LABELS_CSV_NAME}, with {METADATA_DIR_NAME}/<id>.json beside bin-images/<id>.jpg, "
        f"with {FILE_LIST_NAME}, with one sub-folder per count (3/<id>.jpg), or a manifest channel whose "
        f"labels are in {labels_file_for(path)}."
    )


def discover_dataset(path: Path) -> list[Sample]:
    """Read whichever layout `path` holds; samples sorted by image id."""
    path = Path(path)
    layout = detect_layout(path)
    if layout == "labels_csv":
        samples = read_labels_csv(path if path.is_file() else path / LABELS_CSV_NAME)
    elif layout == "abid":
        samples = read_abid_layout(path)
    elif layout == "file_list":
        samples = read_file_list(path if path.is_file() else path / FILE_LIST_NAME)
    elif layout == "manifest_channel":
        samples = read_manifest_channel(path)
    else:
        samples = read_folder_per_count(path)
    if not samples:
        raise DatasetLayoutError(f"{path} ({layout} layout) holds no labelled image that exists on disk")
    logger.info("read %d labelled images from %s (%s layout)", len(samples), path, layout)
    return samples


def count_histogram(samples: Iterable[Sample]) -> dict[int, int]:
    """How many samples hold each count, in count order."""
    return dict(sorted(Counter(sample.count for sample in samples).items()))
