"""Read the subset lists `data fetch` accepts: file_list.json, a JSON list of ids, or one id per line.

Image ids stay strings: `1013` and `01013` are different ABID photos.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import click


@dataclass(frozen=True)
class Subset:
    """Image ids to fetch, with the counts the list already states (file_list.json does, id lists do not)."""

    image_ids: tuple[str, ...]
    known_counts: dict[str, int] = field(default_factory=dict)


def image_id_from_path(path: str) -> str:
    """`data/metadata/01013.json` -> `01013` (never an int)."""
    return PurePosixPath(path.strip()).stem


def load_subset(path: Path) -> Subset:
    """Parse a subset file, telling the user which format was expected when it is none of them."""
    try:
        text = path.read_text()
    except OSError as error:
        raise click.ClickException(f"Cannot read subset file {path}: {error.strerror}.") from error
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return _from_file_list(parsed, path)
    if isinstance(parsed, list):
        return _from_ids([str(item) for item in parsed], path)
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return _from_ids(lines, path)


def _from_file_list(file_list: dict[str, object], path: Path) -> Subset:
    counts: dict[str, int] = {}
    for count, paths in file_list.items():
        if not str(count).isdigit() or not isinstance(paths, list):
            raise click.ClickException(
                f"{path} looks like file_list.json but key {count!r} is not a count with a list of "
                'metadata paths; expected {"1": ["metadata/00001.json", ...], ...}.'
            )
        for item in paths:
            counts[image_id_from_path(str(item))] = int(count)
    return Subset(image_ids=tuple(counts), known_counts=counts)


def _from_ids(items: list[str], path: Path) -> Subset:
    ids = [image_id_from_path(item) for item in items]
    if not ids:
        raise click.ClickException(
            f"{path} lists no image ids; give file_list.json, a JSON list of ids or one id per line."
        )
    return Subset(image_ids=tuple(dict.fromkeys(ids)))


def sample_per_class(subset: Subset, per_class: int, max_count: int, seed: int) -> Subset:
    """Up to `per_class` ids of each count 0..max_count from a subset whose counts are known."""
    if not subset.known_counts:
        raise click.ClickException(
            "--per-class with --subset needs a list that states counts (file_list.json format); "
            "leave out --subset to sample from the bucket's metadata instead."
        )
    rng = random.Random(seed)
    chosen: dict[str, int] = {}
    for count in range(max_count + 1):
        ids = sorted(i for i, c in subset.known_counts.items() if c == count)
        for image_id in rng.sample(ids, min(per_class, len(ids))):
            chosen[image_id] = count
    return Subset(image_ids=tuple(chosen), known_counts=chosen)
