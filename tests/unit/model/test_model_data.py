"""Reading the four published ABID layouts, string ids, unreadable images, splits and balancing."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from countnet.data import (
    DatasetLayoutError,
    Sample,
    detect_layout,
    discover_dataset,
    read_abid_layout,
)
from countnet.labels import LabelSpace
from countnet.loading import BinImageDataset, UnreadableImageLog, collate_readable
from countnet.model import default_preprocessing
from countnet.splits import cap_per_class, inverse_frequency_weights, stratified_split
from countnet.synthetic import write_synthetic_dataset

MakeImage = Callable[..., Path]


def test_labels_csv_keeps_ids_as_strings(tmp_path: Path, make_image_file: MakeImage) -> None:
    # given two different photos whose ids are equal as integers
    make_image_file("images/1013.jpg")
    make_image_file("images/01013.jpg")
    (tmp_path / "labels.csv").write_text("image_id,expected_quantity,source\n1013,2,a\n01013,5,b\n")
    # when
    samples = discover_dataset(tmp_path)
    # then
    assert {(s.image_id, s.count) for s in samples} == {("1013", 2), ("01013", 5)}
    assert {s.path.name for s in samples} == {"1013.jpg", "01013.jpg"}


def test_abid_layout_reads_expected_quantity_or_sums_the_items(
    tmp_path: Path, make_image_file: MakeImage
) -> None:
    make_image_file("bin-images/00007.jpg")
    make_image_file("bin-images/7.jpg")
    (tmp_path / "metadata").mkdir()
    (tmp_path / "metadata" / "00007.json").write_text(
        json.dumps({"EXPECTED_QUANTITY": 3, "BIN_FCSKU_DATA": {}})
    )
    items = {"B1": {"quantity": 2}, "B2": {"quantity": 1}, "B3": {"quantity": 1}}
    (tmp_path / "metadata" / "7.json").write_text(json.dumps({"BIN_FCSKU_DATA": items}))
    assert detect_layout(tmp_path) == "abid"
    assert [(s.image_id, s.count) for s in discover_dataset(tmp_path)] == [("00007", 3), ("7", 4)]


def test_file_list_layout_takes_ids_from_metadata_paths(
    tmp_path: Path, make_image_file: MakeImage, caplog: pytest.LogCaptureFixture
) -> None:
    make_image_file("bin-images/01013.jpg")
    make_image_file("bin-images/1013.jpg")
    listing = {
        "1": ["data/metadata/01013.json"],
        "4": ["data/metadata/1013.json", "data/metadata/99999.json"],
    }
    (tmp_path / "file_list.json").write_text(json.dumps(listing))
    with caplog.at_level(logging.WARNING):
        samples = discover_dataset(tmp_path)
    assert [(s.image_id, s.count) for s in samples] == [("01013", 1), ("1013", 4)]
    assert "1 labelled image(s)" in caplog.text and "99999" in caplog.text


def test_folder_per_count_layout(tmp_path: Path, make_image_file: MakeImage) -> None:
    make_image_file("train/3/0042.jpg")
    make_image_file("train/0/042.png")
    samples = discover_dataset(tmp_path / "train")
    assert [(s.image_id, s.count) for s in samples] == [("0042", 3), ("042", 0)]


def test_folder_per_count_refuses_an_image_with_two_labels(
    tmp_path: Path, make_image_file: MakeImage
) -> None:
    make_image_file("2/abc.jpg")
    make_image_file("3/abc.jpg")
    with pytest.raises(DatasetLayoutError, match="more than one count folder: abc"):
        discover_dataset(tmp_path)


def test_an_unknown_layout_says_what_is_expected(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(DatasetLayoutError, match=r"labels\.csv"):
        discover_dataset(tmp_path)


def test_metadata_without_a_count_is_skipped_with_a_warning(
    tmp_path: Path, make_image_file: MakeImage, caplog: pytest.LogCaptureFixture
) -> None:
    make_image_file("bin-images/00001.jpg")
    (tmp_path / "metadata").mkdir()
    (tmp_path / "metadata" / "00001.json").write_text("{not json")
    with caplog.at_level(logging.WARNING):
        assert read_abid_layout(tmp_path) == []
    assert "00001.json" in caplog.text


def test_a_corrupt_image_mid_epoch_is_dropped_from_its_batch_and_reported(
    tmp_path: Path, make_image_file: MakeImage, caplog: pytest.LogCaptureFixture
) -> None:
    good = make_image_file("a.jpg")
    broken = tmp_path / "b.jpg"
    broken.write_bytes(b"\xff\xd8\xff garbage")
    dataset = BinImageDataset(
        [Sample("a", good, 1), Sample("b", broken, 2)],
        [1, 2],
        default_preprocessing("tf_efficientnet_lite0", 32),
        keep_in_memory=True,
    )
    batch = collate_readable([dataset[0], dataset[1]])
    log = UnreadableImageLog()
    with caplog.at_level(logging.WARNING):
        log.record(batch.unreadable)
        log.record(batch.unreadable)
    assert batch.images.shape == (1, 3, 32, 32) and batch.image_ids == ["a"]
    assert caplog.text.count("skipping unreadable image b") == 1
    assert log.summary() == "skipped 1 unreadable image(s): b"


def _samples(counts: dict[int, int]) -> list[Sample]:
    return [
        Sample(f"{count}-{i:04d}", Path(f"{count}-{i}.jpg"), count)
        for count, n in counts.items()
        for i in range(n)
    ]


def test_stratified_split_keeps_class_shares_and_is_reproducible() -> None:
    samples = _samples({1: 100, 2: 50, 3: 10})
    train, validation, test = stratified_split(samples, (0.8, 0.1, 0.1), seed=3)
    again = stratified_split(list(reversed(samples)), (0.8, 0.1, 0.1), seed=3)
    assert (train, validation, test) == again
    assert Counter(s.count for s in validation) == {1: 10, 2: 5, 3: 1}
    assert Counter(s.count for s in test) == {1: 10, 2: 5, 3: 1}
    ids = [s.image_id for part in (train, validation, test) for s in part]
    assert sorted(ids) == sorted(s.image_id for s in samples)  # disjoint and complete
    assert stratified_split(samples, (0.8, 0.1, 0.1), seed=4)[1] != validation


def test_a_rare_count_stays_in_training() -> None:
    train, validation = stratified_split(_samples({0: 1, 1: 20}), (0.5, 0.5), seed=0)
    assert any(s.count == 0 for s in train)
    assert not any(s.count == 0 for s in validation)


def test_split_fractions_must_sum_to_one() -> None:
    with pytest.raises(ValueError, match="summing to 1"):
        stratified_split(_samples({1: 4}), (0.8, 0.1), seed=0)


def test_capping_and_weighting_balance_the_classes() -> None:
    samples = _samples({1: 30, 2: 10, 3: 5, 6: 4, 9: 4})
    space = LabelSpace(max_count=5, over_max="bucket")
    capped = cap_per_class(samples, seed=0, class_of=lambda s: space.class_of(s.count))
    # the cap is the median class size, 9 (classes of 30, 10, 5 and 4+4 images)
    assert Counter(space.class_of(s.count) for s in capped) == {1: 9, 2: 9, 3: 5, 6: 8}
    weights = inverse_frequency_weights([1, 1, 1, 2])
    assert weights == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1.0])


def test_synthetic_dataset_is_abid_shaped_and_marked_synthetic(tmp_path: Path) -> None:
    root = write_synthetic_dataset(tmp_path / "syn", per_class=2, max_count=3, seed=1)
    samples = discover_dataset(root)
    assert Counter(s.count for s in samples) == {0: 2, 1: 2, 2: 2, 3: 2}
    assert all(isinstance(s.image_id, str) and s.path.parent.name == "bin-images" for s in samples)
    first = samples[0]
    metadata = json.loads((root / "metadata" / f"{first.image_id}.json").read_text())
    assert metadata["SYNTHETIC"] is True
    assert metadata["EXPECTED_QUANTITY"] == first.count == len(metadata["BIN_FCSKU_DATA"])
    assert read_abid_layout(root) == samples  # the metadata layout agrees with labels.csv
    again = write_synthetic_dataset(tmp_path / "again", per_class=2, max_count=3, seed=1)
    assert (again / "bin-images" / f"{first.image_id}.jpg").read_bytes() == first.path.read_bytes()
