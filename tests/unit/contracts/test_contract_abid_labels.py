"""The ABID label rule, one rule for every party: training's reader, the manifest builder, `data fetch`,
`data fetch --per-class` sampling and the counting Lambda label the same metadata document the same way."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from countnet.data import discover_dataset

from binventory.data import fetch, metadata_labels, public_bucket, sampling
from contracts.abid_labels import (
    MalformedExpectation,
    abid_image_id,
    challenge_image_id,
    expected_quantity,
    metadata_count,
    parse_quantity,
    quantity_in_metadata_document,
)
from contracts.inventory_schema import ExpectedSource
from lambdas.counter.api import CounterConfiguration, ImageCounter, KnownState, SaveOutcome, UploadedObject

# (metadata document, the count it states; None: it states no usable count)
DOCUMENTS: list[tuple[Any, int | None]] = [
    ({"EXPECTED_QUANTITY": 3, "BIN_FCSKU_DATA": {}}, 3),
    ({"EXPECTED_QUANTITY": "4", "BIN_FCSKU_DATA": {"A": {"quantity": 9}}}, 4),
    ({"EXPECTED_QUANTITY": 0}, 0),
    ({"BIN_FCSKU_DATA": {"A": {"quantity": 2}, "B": {"quantity": 1}}}, 3),
    ({"BIN_FCSKU_DATA": {"A": {"quantity": "2"}}}, 2),
    ({"EXPECTED_QUANTITY": 2.9}, None),
    ({"EXPECTED_QUANTITY": -1}, None),
    ({"EXPECTED_QUANTITY": "three"}, None),
    ({"EXPECTED_QUANTITY": True}, None),
    ({"EXPECTED_QUANTITY": None, "BIN_FCSKU_DATA": {"A": {"quantity": 2}}}, None),
    ({"BIN_FCSKU_DATA": {"A": {"quantity": 2.5}, "B": {"quantity": 1}}}, None),
    ({"BIN_FCSKU_DATA": {"A": {"name": "no quantity"}}}, None),
    ({"BIN_FCSKU_DATA": {}}, None),
    ({}, None),
    (["not", "an", "object"], None),
]
IDS = [abid_image_id(number) for number in range(1, len(DOCUMENTS) + 1)]
STATED = {image_id: count for image_id, (_, count) in zip(IDS, DOCUMENTS, strict=True) if count is not None}
BUCKET = public_bucket.PUBLIC_BUCKET


class PublicBucketStandIn:
    """get_object on the public bucket's metadata/<id>.json, as S3 answers it."""

    def __init__(self) -> None:
        self.objects = {
            public_bucket.metadata_key(i): json.dumps(d).encode()
            for i, (d, _) in zip(IDS, DOCUMENTS, strict=True)
        }

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if Bucket != BUCKET or Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": Key}}, "GetObject")
        body = self.objects[Key]
        return {"Body": io.BytesIO(body), "ContentLength": len(body), "ETag": '"not-an-md5"'}


def write_abid_folder(root: Path) -> Path:
    (root / "bin-images").mkdir(parents=True)
    (root / "metadata").mkdir()
    for image_id, (document, _) in zip(IDS, DOCUMENTS, strict=True):
        (root / "bin-images" / f"{image_id}.jpg").write_bytes(b"\xff\xd8\xff\xd9")
        (root / "metadata" / f"{image_id}.json").write_text(json.dumps(document))
    return root


def test_the_rule_reads_expected_quantity_else_the_sum_of_the_items() -> None:
    assert [metadata_count(document) for document, _ in DOCUMENTS] == [count for _, count in DOCUMENTS]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"EXPECTED_QUANTITY": 2.9}, "has EXPECTED_QUANTITY 2.9, which is not a whole number >= 0"),
        ({"EXPECTED_QUANTITY": True}, "has EXPECTED_QUANTITY True, which is not a number"),
        ({"EXPECTED_QUANTITY": None}, "has EXPECTED_QUANTITY null"),
        ({"BIN_FCSKU_DATA": {}}, "has no EXPECTED_QUANTITY field and no BIN_FCSKU_DATA items to add up"),
        (
            {"BIN_FCSKU_DATA": {"A": {"quantity": -1}}},
            "has BIN_FCSKU_DATA item 'A' quantity -1, which is not a whole number",
        ),
        ({"BIN_FCSKU_DATA": {"A": {}}}, "has BIN_FCSKU_DATA item 'A' without a quantity"),
        ("3", "is not a JSON object"),
    ],
)
def test_a_document_that_states_no_count_is_refused_saying_what_is_wrong(document: Any, message: str) -> None:
    with pytest.raises(MalformedExpectation, match=message):
        expected_quantity(document)
    with pytest.raises(MalformedExpectation, match=rf"^metadata/x\.json {message}"):
        quantity_in_metadata_document(json.dumps(document), "metadata/x.json")


@pytest.mark.parametrize("raw", ["²", "٣", "+3", "3.0", " "])
def test_only_ascii_digit_strings_are_whole_numbers(raw: str) -> None:
    with pytest.raises(MalformedExpectation):
        parse_quantity(raw)


def test_abid_names_photos_by_a_number_padded_to_five_digits() -> None:
    assert [abid_image_id(n) for n in (1, 1013, 100000)] == ["00001", "01013", "100000"]
    assert challenge_image_id(1012) == "01013"
    with pytest.raises(ValueError, match="negative"):
        challenge_image_id(-1)


def test_training_reads_an_abid_folder_by_the_rule(tmp_path: Path) -> None:
    samples = discover_dataset(write_abid_folder(tmp_path / "abid"))

    assert {sample.image_id: sample.count for sample in samples} == STATED


def test_the_manifest_builder_labels_public_metadata_by_the_rule(tmp_path: Path) -> None:
    cache = metadata_labels.LabelCache(tmp_path / "labels.jsonl")

    report = metadata_labels.scan_metadata(PublicBucketStandIn(), BUCKET, IDS, cache, workers=2)

    assert cache.counts(IDS) == STATED
    assert set(report.problems) == set(IDS) - set(STATED)


def test_data_fetch_labels_downloaded_metadata_by_the_rule(tmp_path: Path) -> None:
    dest = write_abid_folder(tmp_path / "fetched")

    fetch.write_labels(dest, IDS, known_counts={})

    rows = (dest / fetch.LABELS_FILE).read_text().splitlines()[1:]
    assert dict(row.split(",") for row in rows) == {i: str(count) for i, count in STATED.items()}


def test_per_class_sampling_keeps_what_the_rule_counts(tmp_path: Path) -> None:
    request = sampling.SampleRequest(
        per_class=len(IDS), max_count=10, seed=0, id_max=len(IDS), max_candidates=len(IDS)
    )

    chosen = sampling.sample_from_metadata(PublicBucketStandIn(), BUCKET, tmp_path, request, workers=2)

    assert chosen == STATED


class _Photos:
    def __init__(self, document: Any) -> None:
        self.document = json.dumps(document).encode()

    def read_image(self, upload: UploadedObject, read_limit: int) -> SimpleNamespace:
        jpeg = b"\xff\xd8\xff\xe0\x00\x10JF"
        return SimpleNamespace(size=len(jpeg), content_type="image/jpeg", metadata={}, data=jpeg)

    def read_document(self, bucket: str, key: str) -> bytes:
        return self.document


class _Endpoint:
    def predict(self, image: bytes, content_type: str, deadline: Any) -> dict[str, Any]:
        probabilities = {str(k): 1 / 6 for k in range(6)}
        return {
            "predicted_count": 3,
            "predicted_label": "3",
            "confidence": 1 / 6,
            "probabilities": probabilities,
            "model_version": "m",
            "reconciliation_rule": None,
        }


class _Records:
    def save(self, record: Any) -> SaveOutcome:
        return SaveOutcome.WRITTEN

    def expected_quantity(self, bin_id: str) -> None:
        return None


class _Events:
    def publish(self, record: Any) -> None:
        return None


@pytest.mark.parametrize(("document", "count"), DOCUMENTS)
def test_the_counting_lambda_takes_the_metadata_json_by_the_rule(document: Any, count: int | None) -> None:
    # given an ABID upload whose metadata JSON is `document`, and no other source of an expectation
    counter = ImageCounter(
        images=_Photos(document),
        endpoint=_Endpoint(),
        inventory=_Records(),
        events=_Events(),
        configuration=CounterConfiguration("inventory", "bin-state", "endpoint", "bus", 0.5, 6_000_000),
    )
    upload = UploadedObject("ingest", "bin-images/00001.jpg", "v1", None, "2026-11-30T12:00:00.000000Z")

    # when the Lambda counts it
    record = counter.count(upload, KnownState()).record

    # then the expectation is the count the rule states, from the metadata JSON, or none with the reason
    assert record is not None and record.expected_quantity == count
    if count is None:
        assert record.expected_source is None
        assert record.reason and record.reason.startswith("metadata_json: metadata/00001.json ")
    else:
        assert record.expected_source is ExpectedSource.METADATA_JSON


@pytest.mark.parametrize(
    ("document", "count"),
    [
        ({"EXPECTED_QUANTITY": 3, "BIN_FCSKU_DATA": {}}, 3),
        ({"BIN_FCSKU_DATA": {"A": {"quantity": 2}, "B": {"quantity": 1}}}, 3),
        ({"EXPECTED_QUANTITY": "x"}, None),
        (["not", "a", "document"], None),
    ],
)
def test_metadata_count_is_the_abid_reader_s_rule(document: object, count: int | None) -> None:
    assert metadata_count(document) == count
