"""The fixed split of the ABID sample: one committed file assigns every original photo to train, validation or
test, and train.py, the benchmarks and the demo all read it through `contracts.fixed_split`, so no photo a
model trained or was tuned on is reported as a test photo anywhere.

`make model-abid` passes this file to train.py (tests/unit/contracts/test_contract_recipe.py).
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import train
from countnet.data import Sample, discover_dataset

from binventory.local.demo import _held_out_ids
from contracts.fixed_split import SPLIT_FILE, SPLIT_NAMES, carve_split, read_split

REPO_ROOT = Path(__file__).resolve().parents[3]
_SPEC = importlib.util.spec_from_file_location("abid_bench_data", REPO_ROOT / "bench" / "abid_bench_data.py")
bench_data = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench_data)


def _parts(assignment: dict[str, str]) -> dict[str, set[str]]:
    return {name: {i for i, part in assignment.items() if part == name} for name in SPLIT_NAMES}


def test_the_committed_split_is_the_seeded_carve_of_the_abid_sample(abid_dir: Path) -> None:
    with (abid_dir / "labels.csv").open(newline="") as handle:
        counts = {row["image_id"]: int(row["expected_quantity"]) for row in csv.DictReader(handle)}
    with SPLIT_FILE.open(newline="") as handle:
        listed = [row["image_id"] for row in csv.DictReader(handle)]
    committed = read_split()
    assert committed == carve_split(counts)
    # every labelled original photo is listed, and listed once: a second row would silently move it
    assert sorted(listed) == sorted(counts)
    # ids stay strings: the padded and unpadded names are different photos, each with its own part
    assert (committed["01013"], committed["1013"]) == ("train", "test")
    assert sum(part == "test" for part in committed.values()) == 595


def test_every_count_keeps_its_share_in_every_part() -> None:
    counts = {f"{i:05d}": i % 7 for i in range(700)}  # 100 photos of each count 0..6
    split = carve_split(counts)
    for count in range(7):
        parts = [split[i] for i, c in counts.items() if c == count]
        assert (parts.count("test"), parts.count("validation"), parts.count("train")) == (25, 20, 55)


def test_train_py_and_the_benchmarks_hold_out_the_same_photos(abid_dir: Path) -> None:
    # given the ABID sample, and a photo of another source (an abid-224 re-encoding) the file does not list
    samples = discover_dataset(abid_dir)
    other_source = Sample("abid-224-00001", abid_dir / "images" / "00001.jpg", 2)

    # when train.py splits its training data by the file, and the benchmarks pick their photos
    trained = train._split_by_file([*samples, other_source], SPLIT_FILE)
    benchmarked = bench_data.fixed_split(abid_dir)

    # then both put every photo in the part the file names; the unlisted photo only trains
    expected = _parts(read_split())
    assert {name: {s.image_id for s in part} for name, part in benchmarked.items()} == expected
    assert {name: {s.image_id for s in part} for name, part in trained.items()} == {
        **expected,
        "train": expected["train"] | {other_source.image_id},
    }


def test_the_demo_shows_a_recipe_model_only_photos_it_never_trained_on(
    abid_dir: Path, tmp_path: Path
) -> None:
    assert _held_out_ids(abid_dir) == _parts(read_split())["test"]
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "not-abid.jpg").write_bytes(b"")
    assert _held_out_ids(tmp_path) is None  # any other folder uploads whole
