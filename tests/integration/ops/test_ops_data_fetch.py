"""`binventory data fetch` against an emulated public ABID bucket."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from public_bucket_reads import record_public_reads

from binventory.data import public_bucket

# Unpadded "1013" and padded "01013" are different ABID photos: both must survive as strings.
BUCKET_COUNTS = {"00001": 1, "00002": 2, "00003": 3, "1013": 4, "01013": 5, "00006": 0}
MISSING_IMAGE = "00003"


def image_bytes(image_id: str) -> bytes:
    return b"\xff\xd8\xff\xe0" + image_id.encode() * 5000 + b"\xff\xd9"


@pytest.fixture
def abid_bucket(s3: Any) -> str:
    """The public bucket as an anonymous client sees it: objects readable by anyone."""
    s3.create_bucket(Bucket=public_bucket.PUBLIC_BUCKET)
    for image_id, count in BUCKET_COUNTS.items():
        metadata = {"BIN_FCSKU_DATA": {}, "EXPECTED_QUANTITY": count}
        s3.put_object(
            Bucket=public_bucket.PUBLIC_BUCKET,
            Key=f"metadata/{image_id}.json",
            Body=json.dumps(metadata).encode(),
            ACL="public-read",
        )
        if image_id != MISSING_IMAGE:
            s3.put_object(
                Bucket=public_bucket.PUBLIC_BUCKET,
                Key=f"bin-images/{image_id}.jpg",
                Body=image_bytes(image_id),
                ACL="public-read",
            )
    return public_bucket.PUBLIC_BUCKET


def test_fetch_resumes_after_an_interruption_verifies_files_and_reports_the_missing_object(
    abid_bucket: str, tmp_path: Path, invoke: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a subset in file_list.json format, a torn image and a stale partial download on disk
    subset = tmp_path / "file_list.json"
    subset.write_text(json.dumps({str(c): [f"metadata/{i}.json"] for i, c in BUCKET_COUNTS.items()}))
    dest = tmp_path / "abid"
    (dest / "images").mkdir(parents=True)
    (dest / "images" / "00001.jpg").write_bytes(image_bytes("00001")[:100])
    (dest / "images" / "01013.jpg.part").write_bytes(image_bytes("01013")[:100])

    # when the network drops after 4 downloads
    first_calls = record_public_reads(monkeypatch, fail_after=4)
    interrupted = invoke("data", "fetch", "--subset", str(subset), "--dest", str(dest), "--workers", "1")

    # then the run fails and says how to resume; the torn image was caught and fetched again
    assert interrupted.exit_code == 1
    assert "downloaded 4," in interrupted.output
    assert "re-run the same command to resume" in interrupted.output
    assert (dest / "images" / "00001.jpg").read_bytes() == image_bytes("00001")

    # when it is re-run
    second_calls = record_public_reads(monkeypatch)
    resumed = invoke("data", "fetch", "--subset", str(subset), "--dest", str(dest), "--workers", "3")

    # then it downloads only what the first run did not finish, and every file matches the bucket
    assert resumed.exit_code == 0, resumed.output
    in_bucket = {f"metadata/{i}.json" for i in BUCKET_COUNTS} | {
        f"bin-images/{i}.jpg" for i in BUCKET_COUNTS if i != MISSING_IMAGE
    }
    assert set(second_calls) == in_bucket - set(first_calls[:4])
    for image_id in BUCKET_COUNTS.keys() - {MISSING_IMAGE}:
        assert (dest / "images" / f"{image_id}.jpg").read_bytes() == image_bytes(image_id)
    assert not list(dest.rglob("*.part"))
    # and the missing object is reported, not fatal
    assert f"missing: bin-images/{MISSING_IMAGE}.jpg" in resumed.output
    # and labels keep string ids, padded and unpadded apart
    with (dest / "labels.csv").open() as handle:
        labels = {row["image_id"]: int(row["expected_quantity"]) for row in csv.DictReader(handle)}
    assert labels == {i: c for i, c in BUCKET_COUNTS.items() if i != MISSING_IMAGE}
