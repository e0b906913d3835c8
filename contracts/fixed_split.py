"""The fixed split of the ABID photos in ../shared, carved by bin: no bin has photos on two sides.

Carved once (seed `SPLIT_SEED`) and committed as `contracts/abid_split.csv`
(`image_id,split,bin_group,original`), so every trainer and benchmark uses the same photos: train on
`train`, choose epochs, calibration, thresholds and recipes on `validation`, report once on `test`. Photos
are first grouped by bin (`contracts.same_bin`);
a whole group goes to one part, so a test photo never has a near-twin (the same bin a stow or a pick
earlier) in training.
- Test holds original photos only (../shared/abid): a claim about robots' photos is made on their bytes.
  Re-encoded photos (../shared/abid-224) of a test bin are `held_out`: nothing trains or scores on them.
- Validation holds original photos and a share of the re-encoded ones, which makes recipe comparisons
  less noisy; its figures are also reported on the originals alone.
Groups are carved within strata of their smallest count (every count up to 5, then 6-8, 9-12, 13 and
more), so each part keeps the mix of counts. `python -m contracts.fixed_split --originals DIR
--re-encoded DIR` re-carves (a new file is a new split: every figure before it is on another test set).
Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from contracts.abid_labels import ITEMS_FIELD
from contracts.label_corrections import read_corrections
from contracts.same_bin import group_photos

SPLIT_FILE = Path(__file__).resolve().parent / "abid_split.csv"
SPLIT_SEED = 2027
SPLIT_NAMES = ("train", "validation", "test", "held_out")
COLUMNS = ("image_id", "split", "bin_group", "original")
# Shares of the original photos' bin groups, carved in this order; the rest trains.
ORIGINAL_FRACTIONS = (("test", 0.25), ("validation", 0.20))
# Share of the groups with only re-encoded photos that validates; the rest trains.
RE_ENCODED_VALIDATION_FRACTION = 0.10
STRATUM_EDGES = (0, 1, 2, 3, 4, 5, 6, 9, 13)  # a stratum starts at each edge


class SplitFileError(ValueError):
    """The split file is missing, or a row is not `image_id,split,...` with a known split name."""


@dataclass(frozen=True)
class PhotoFacts:
    """What the carve needs of a photo: its count, whether it is an original, the ASINs it lists."""

    count: int
    original: bool
    asins: frozenset[str] | None


@dataclass(frozen=True)
class SplitEntry:
    split: str
    bin_group: str
    original: bool  # the robot's own bytes (../shared/abid), not a re-encoding


def stratum(count: int) -> int:
    """The stratum of a count: its own up to 5, then the buckets that start at 6, 9 and 13."""
    return max(edge for edge in STRATUM_EDGES if edge <= count)


def carve_split(photos: Mapping[str, PhotoFacts], seed: int = SPLIT_SEED) -> dict[str, SplitEntry]:
    """Every photo's part and bin group; groups are shuffled within strata and filled in order."""
    group_of = group_photos({image_id: facts.asins for image_id, facts in photos.items()})
    members: dict[str, list[str]] = defaultdict(list)
    for image_id in sorted(photos):
        members[group_of[image_id]].append(image_id)
    with_originals: dict[int, list[str]] = defaultdict(list)
    re_encoded_only: dict[int, list[str]] = defaultdict(list)
    for group, ids in sorted(members.items()):
        originals = [i for i in ids if photos[i].original]
        key = stratum(min(photos[i].count for i in originals or ids))
        (with_originals if originals else re_encoded_only)[key].append(group)
    rng = random.Random(seed)
    part_of_group: dict[str, str] = {}
    for key in sorted(with_originals):
        groups = with_originals[key]
        rng.shuffle(groups)
        total = sum(sum(photos[i].original for i in members[g]) for g in groups)
        filled, index = 0, 0
        for name, fraction in ORIGINAL_FRACTIONS:
            target = filled + round(total * fraction)
            while index < len(groups) and filled < target:
                part_of_group[groups[index]] = name
                filled += sum(photos[i].original for i in members[groups[index]])
                index += 1
        part_of_group.update(dict.fromkeys(groups[index:], "train"))
    for key in sorted(re_encoded_only):
        groups = re_encoded_only[key]
        rng.shuffle(groups)
        size = round(len(groups) * RE_ENCODED_VALIDATION_FRACTION)
        part_of_group.update(dict.fromkeys(groups[:size], "validation"))
        part_of_group.update(dict.fromkeys(groups[size:], "train"))
    assignment = {}
    for group, ids in members.items():
        part = part_of_group[group]
        for image_id in ids:
            original = photos[image_id].original
            split = "held_out" if part == "test" and not original else part
            assignment[image_id] = SplitEntry(split, group, original)
    return assignment


def read_split_entries(path: Path = SPLIT_FILE) -> dict[str, SplitEntry]:
    """image id (a string, never a number) -> its part and bin group."""
    path = Path(path)
    if not path.is_file():
        raise SplitFileError(f"split file {path} not found; pass a CSV with the columns {','.join(COLUMNS)}")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = tuple(reader.fieldnames or ())
        if columns[:2] != COLUMNS[:2]:
            raise SplitFileError(f"{path} needs the columns {','.join(COLUMNS)}; has {reader.fieldnames}")
        entries = {}
        for line, row in enumerate(reader, start=2):
            if row["split"] not in SPLIT_NAMES or not row["image_id"]:
                raise SplitFileError(
                    f"{path} line {line}: {row['image_id']!r},{row['split']!r}; the split must be one of "
                    f"{', '.join(SPLIT_NAMES)}"
                )
            entries[row["image_id"]] = SplitEntry(
                row["split"], row.get("bin_group") or row["image_id"], row.get("original") == "1"
            )
    return entries


def read_split(path: Path = SPLIT_FILE) -> dict[str, str]:
    """image id (a string, never a number) -> split name."""
    return {image_id: entry.split for image_id, entry in read_split_entries(path).items()}


def bin_groups(path: Path = SPLIT_FILE) -> dict[str, str]:
    """image id -> its bin group: the unit a bootstrap resamples, since a bin's photos move together."""
    return {image_id: entry.bin_group for image_id, entry in read_split_entries(path).items()}


def write_split(assignment: Mapping[str, SplitEntry], path: Path = SPLIT_FILE) -> None:
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows((i, e.split, e.bin_group, int(e.original)) for i, e in sorted(assignment.items()))


def _asins(metadata_file: Path) -> frozenset[str] | None:
    if not metadata_file.is_file():
        return None
    items = json.loads(metadata_file.read_text(encoding="utf-8")).get(ITEMS_FIELD) or {}
    return frozenset(items)


def read_photo_facts(originals: Path, re_encoded: list[Path], corrections: Mapping[str, int]) -> dict:
    """PhotoFacts of every photo in the folders' labels.csv, with the label corrections applied."""
    facts: dict[str, PhotoFacts] = {}
    for folder, original in [(originals, True), *((path, False) for path in re_encoded)]:
        with (folder / "labels.csv").open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                image_id = row["image_id"]
                if image_id in facts:
                    raise SplitFileError(f"photo {image_id} is in two folders; ids must be unique")
                count = corrections.get(image_id, int(row["expected_quantity"]))
                asins = _asins(folder / "metadata" / f"{image_id}.json")
                facts[image_id] = PhotoFacts(count, original, asins)
    return facts


def summary(photos: Mapping[str, PhotoFacts], assignment: Mapping[str, SplitEntry]) -> str:
    """Photos per part (originals / re-encoded) and per stratum, as the carve prints it."""
    lines = []
    for name in SPLIT_NAMES:
        ids = [i for i, e in assignment.items() if e.split == name]
        originals = sum(photos[i].original for i in ids)
        strata = Counter(stratum(photos[i].count) for i in ids)
        groups = len({assignment[i].bin_group for i in ids})
        lines.append(
            f"{name}: {len(ids)} photos ({originals} original) in {groups} bins; by stratum "
            + ", ".join(f"{s}: {strata[s]}" for s in STRATUM_EDGES)
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--originals", type=Path, required=True, help="folder of original photos (labels.csv)"
    )
    parser.add_argument("--re-encoded", type=Path, nargs="*", default=[], help="folders of re-encoded photos")
    parser.add_argument("--out", type=Path, default=SPLIT_FILE)
    args = parser.parse_args(argv)
    photos = read_photo_facts(args.originals, args.re_encoded, read_corrections())
    assignment = carve_split(photos)
    write_split(assignment, args.out)
    print(summary(photos, assignment))


if __name__ == "__main__":
    main()
