"""The expected-quantity precedence: metadata JSON, then object metadata, then the bin state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from contracts.abid_labels import MalformedExpectation, parse_quantity, quantity_in_metadata_document
from contracts.inventory_schema import ExpectedSource
from lambdas.counter.logic.expected import resolve_expected_quantity


def lookups(metadata_json: Any = None, object_metadata: Any = None, bin_state: Any = None) -> list:
    def source(value: Any) -> Any:
        def read() -> Any:
            if isinstance(value, Exception):
                raise value
            return value

        return read

    return [
        (ExpectedSource.METADATA_JSON, source(metadata_json)),
        (ExpectedSource.OBJECT_METADATA, source(object_metadata)),
        (ExpectedSource.BIN_STATE, source(bin_state)),
    ]


def test_the_metadata_json_wins_over_every_other_source() -> None:
    result = resolve_expected_quantity(lookups(metadata_json=12, object_metadata="3", bin_state=Decimal(4)))

    assert (result.quantity, result.source, result.problems) == (12, ExpectedSource.METADATA_JSON, ())


def test_object_metadata_wins_over_the_bin_state() -> None:
    result = resolve_expected_quantity(lookups(object_metadata=" 3 ", bin_state=Decimal(4)))

    assert (result.quantity, result.source) == (3, ExpectedSource.OBJECT_METADATA)


def test_the_bin_state_is_the_last_resort() -> None:
    result = resolve_expected_quantity(lookups(bin_state=Decimal(4)))

    assert (result.quantity, result.source) == (4, ExpectedSource.BIN_STATE)


def test_no_source_means_no_expectation() -> None:
    result = resolve_expected_quantity(lookups())

    assert (result.quantity, result.source, result.problems) == (None, None, ())


def test_a_malformed_value_is_reported_and_the_next_source_used() -> None:
    result = resolve_expected_quantity(
        lookups(
            metadata_json=MalformedExpectation("metadata/7.json is not valid JSON"), object_metadata="many"
        )
    )

    assert result.quantity is None
    assert result.problems == (
        "metadata_json: metadata/7.json is not valid JSON",
        "object_metadata: expected quantity 'many' is not a whole number >= 0",
    )


def test_lower_sources_are_not_read_once_a_higher_one_answers() -> None:
    reads: list[str] = []

    def bin_state() -> Any:
        reads.append("bin_state")
        return 1

    resolve_expected_quantity(
        [(ExpectedSource.OBJECT_METADATA, lambda: "2"), (ExpectedSource.BIN_STATE, bin_state)]
    )

    assert reads == []


@pytest.mark.parametrize(("raw", "quantity"), [(0, 0), (12, 12), ("7", 7), (Decimal("4"), 4), (3.0, 3)])
def test_whole_non_negative_quantities_parse(raw: Any, quantity: int) -> None:
    assert parse_quantity(raw) == quantity


@pytest.mark.parametrize("raw", [-1, 2.5, "2.5", "-3", "", "twelve", True, float("nan"), float("inf"), [3]])
def test_other_quantities_are_malformed(raw: Any) -> None:
    with pytest.raises(MalformedExpectation):
        parse_quantity(raw)


def test_metadata_document_fields() -> None:
    assert quantity_in_metadata_document(b'{"BIN_FCSKU_DATA": {}, "EXPECTED_QUANTITY": 12}', "m.json") == 12
    with pytest.raises(MalformedExpectation, match=r"m\.json has no EXPECTED_QUANTITY"):
        quantity_in_metadata_document(b'{"BIN_FCSKU_DATA": {}}', "m.json")
    with pytest.raises(MalformedExpectation, match=r"m\.json is not valid JSON"):
        quantity_in_metadata_document(b"{EXPECTED_QUANTITY: 3", "m.json")
