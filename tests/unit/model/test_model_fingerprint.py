"""What a checkpoint must match to be resumed: the code, the data and the hyperparameters."""

from __future__ import annotations

from pathlib import Path

import pytest
from countnet import fingerprint
from countnet.data import Sample


def test_the_code_fingerprint_covers_the_training_code_and_changes_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = {path.name for path in fingerprint._source_files()}
    assert {"trainer.py", "losses.py", "recipe.json", "fixed_split.py", "train.py"} <= names

    source = tmp_path / "trainer.py"
    source.write_text("LR = 0.001\n")
    monkeypatch.setattr(fingerprint, "_source_files", lambda: [source])
    before = fingerprint.code_fingerprint()
    source.write_text("LR = 0.002\n")
    assert fingerprint.code_fingerprint() != before


def test_the_data_fingerprint_changes_with_a_label_or_a_file_but_not_with_order(tmp_path: Path) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"\xff\xd8" + b"0" * 100)
    other = tmp_path / "b.jpg"
    other.write_bytes(b"\xff\xd8" + b"1" * 50)
    samples = [Sample("a", photo, 3), Sample("b", other, 1)]
    base = fingerprint.data_fingerprint(samples)

    assert fingerprint.data_fingerprint(samples[::-1]) == base
    assert fingerprint.data_fingerprint([Sample("a", photo, 4), samples[1]]) != base  # a corrected label
    photo.write_bytes(b"\xff\xd8" + b"0" * 90)  # a re-encoded photo
    assert fingerprint.data_fingerprint(samples) != base
