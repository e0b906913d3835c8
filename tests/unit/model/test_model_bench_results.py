"""bench/results.py: each benchmark rewrites only its own section of RESULTS.md."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "bench_results", Path(__file__).resolve().parents[3] / "bench" / "results.py"
)
results = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(results)


def test_a_section_is_added_then_replaced_and_others_survive(tmp_path: Path) -> None:
    # given a results file another benchmark already wrote to
    path = tmp_path / "RESULTS.md"
    results.write_section("lambda-latency", "| p50 | 12 ms |", path)
    # when this benchmark writes twice
    results.write_section("model-accuracy", "accuracy 0.41", path)
    results.write_section("model-accuracy", "accuracy 0.44", path)
    # then
    text = path.read_text()
    assert text.startswith("# Benchmark results")
    assert "<!-- bench:lambda-latency -->\n| p50 | 12 ms |\n<!-- /bench:lambda-latency -->" in text
    assert "<!-- bench:model-accuracy -->\naccuracy 0.44\n<!-- /bench:model-accuracy -->" in text
    assert "0.41" not in text


def test_section_names_are_checked() -> None:
    with pytest.raises(ValueError, match="lower-case letters, digits and dashes"):
        results.replace_section("", "Model Accuracy", "x")
