"""Which photos show one bin: neighbouring ids that share an item, or that cannot be told apart."""

from __future__ import annotations

from contracts.same_bin import group_photos, id_series


def test_neighbours_that_share_an_asin_are_one_bin_and_strangers_are_not() -> None:
    groups = group_photos(
        {
            "00010": frozenset({"A", "B"}),
            "00011": frozenset({"B"}),  # a pick later: shares B
            "00012": frozenset({"C"}),  # next to 00011 but nothing in common
            "00013": frozenset({"B", "D"}),  # two ids after 00011, shares B
            "00020": frozenset({"B"}),  # shares B but far away: another bin holding the same product
        }
    )
    assert groups["00010"] == groups["00011"] == groups["00013"] == "00010"
    assert groups["00012"] == "00012" and groups["00020"] == "00020"


def test_a_photo_without_an_item_list_stays_with_its_neighbours_to_be_safe() -> None:
    groups = group_photos({"00100": frozenset({"A"}), "00101": None, "00102": frozenset(), "00105": None})
    assert groups["00100"] == groups["00101"] == groups["00102"]
    assert groups["00105"] == "00105"  # three ids away: not a neighbour


def test_two_shared_asins_link_photos_at_any_distance() -> None:
    groups = group_photos({"00001": frozenset({"A", "B"}), "04500": frozenset({"A", "B", "C"})})
    assert groups["00001"] == groups["04500"]


def test_the_unpadded_ids_are_their_own_series() -> None:
    # `1013` is not `01013`, and not its neighbour either
    assert id_series("1013") == ("unpadded", 1013) and id_series("01013") == ("padded", 1013)
    groups = group_photos({"1013": None, "01013": None, "01014": None})
    assert groups["1013"] == "1013" and groups["01013"] == groups["01014"]
