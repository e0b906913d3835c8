"""The fixed split: one committed file assigns every photo of ../shared to train, validation, test or held
out, by bin, and train.py, the benchmarks and the demo all read it through `contracts.fixed_split`, so no bin
a model trained or was tuned on is reported as a test photo anywhere.

`make model-abid` passes this file to train.py (tests/unit/contracts/test_contract_recipe.py).
"""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from pathlib import Path

import train
from countnet.data import Sample, discover_dataset

from binventory.local.demo import _held_out_ids
from contracts.fixed_split import (
    SPLIT_FILE,
    PhotoFacts,
    carve_split,
    read_photo_facts,
    read_split,
    read_split_entries,
)
from contracts.label_corrections import read_corrections

REPO_ROOT = Path(__file__).resolve().parents[3]
_SPEC = importlib.util.spec_from_file_location("abid_bench_data", REPO_ROOT / "bench" / "abid_bench_data.py")
bench_data = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench_data)


def _parts(assignment: dict[str, str]) -> dict[str, set[str]]:
    parts: dict[str, set[str]] = defaultdict(set)
    for image_id, part in assignment.items():
        parts[part].add(image_id)
    return parts


def test_the_committed_split_is_the_seeded_carve_of_the_photos_in_shared(abid_dir: Path) -> None:
    # given every labelled photo of ../shared, with the known label corrections
    photos = read_photo_facts(abid_dir, [abid_dir.parent / "abid-224"], read_corrections())

    # then the committed file is exactly the carve, and lists each photo once
    committed = read_split_entries()
    assert committed == carve_split(photos)
    assert len(SPLIT_FILE.read_text().splitlines()) == len(photos) + 1
    # ids stay strings: the padded and unpadded names are different photos, each with its own part
    assert (committed["01013"].split, committed["1013"].split) == ("train", "validation")
    # 12345 is carved as the 3 items the challenge split and the full EXPECTED_QUANTITY table give it
    assert photos["12345"].count == 3


def test_no_bin_has_photos_on_two_sides_and_test_holds_originals_only(abid_dir: Path) -> None:
    photos = read_photo_facts(abid_dir, [abid_dir.parent / "abid-224"], read_corrections())
    sides: dict[str, set[str]] = defaultdict(set)
    for image_id, entry in read_split_entries().items():
        sides[entry.bin_group].add("test" if entry.split == "held_out" else entry.split)
        if entry.split == "test":
            assert photos[image_id].original
        if entry.split == "held_out":  # a test bin's re-encoded photos: used by nothing
            assert not photos[image_id].original
    assert all(len(parts) == 1 for parts in sides.values())


def test_every_stratum_keeps_its_share_in_every_part() -> None:
    # 100 single-photo bins of each count 0..6, all originals, with no item lists and ids far apart
    photos = {f"{i * 10:05d}": PhotoFacts(count=i % 7, original=True, asins=None) for i in range(700)}
    split = carve_split(photos)
    for count in range(7):
        parts = [split[i].split for i, facts in photos.items() if facts.count == count]
        assert (parts.count("test"), parts.count("validation"), parts.count("train")) == (25, 20, 55)


def test_a_bin_photographed_twice_goes_to_one_part() -> None:
    photos = {
        f"{i * 10:05d}": PhotoFacts(count=2, original=True, asins=frozenset({f"A{i}"})) for i in range(200)
    }
    photos["00001"] = PhotoFacts(
        count=3, original=False, asins=frozenset({"A0"})
    )  # the bin of 00000, restocked
    split = carve_split(photos)
    assert split["00001"].bin_group == split["00000"].bin_group == "00000"
    expected = "held_out" if split["00000"].split == "test" else split["00000"].split
    assert split["00001"].split == expected


def test_train_py_and_the_benchmarks_hold_out_the_same_photos(abid_dir: Path) -> None:
    # given the ABID sample, and a photo of another source that the file does not list
    samples = discover_dataset(abid_dir)
    other_source = Sample("not-in-the-split", abid_dir / "images" / "00001.jpg", 2)

    # when train.py splits its training data by the file, and the benchmarks pick their photos
    trained = train._split_by_file([*samples, other_source], SPLIT_FILE)
    benchmarked = bench_data.fixed_split(abid_dir)

    # then both put every original photo in the part the file names; the unlisted photo only trains
    originals = {sample.image_id for sample in samples}
    expected = {name: ids & originals for name, ids in _parts(read_split()).items()}
    assert {name: {s.image_id for s in part} for name, part in benchmarked.items()} == {
        name: expected.get(name, set()) for name in benchmarked
    }
    assert {name: {s.image_id for s in part} for name, part in trained.items()} == {
        "train": expected["train"] | {other_source.image_id},
        "validation": expected["validation"],
        "test": expected["test"],
    }


def test_the_demo_shows_a_recipe_model_only_photos_it_never_trained_on(
    abid_dir: Path, tmp_path: Path
) -> None:
    assert _held_out_ids(abid_dir) == _parts(read_split())["test"]
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "not-abid.jpg").write_bytes(b"")
    assert _held_out_ids(tmp_path) is None  # any other folder uploads whole
