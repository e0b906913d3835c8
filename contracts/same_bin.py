"""Which ABID photos show the same physical bin, so that a split never puts one bin on both sides.

ABID numbers photos in the order the robots took them, and a bin is often photographed again a moment
later, after a stow or a pick: the neighbouring id shows the same bin with one item more or less. In the
metadata of ../shared, 4,301 pairs of ids one apart and 554 two apart share an ASIN; not one pair three to
seven apart does. So two photos are linked as one bin when
- their ids are at most `NEIGHBOUR_DISTANCE` apart and they share an ASIN, or either has no item list
  (no metadata, or an empty bin): without the list there is no evidence they differ, so they are kept
  together to be safe; or
- they share at least `SHARED_ASINS_ANYWHERE` ASINs at any distance (a bin revisited much later).
A group is every photo reachable through links. Ids are strings: the unpadded ids (`1013`) are a separate
series from the zero-padded ones (`01013`), so only ids of the same series are neighbours.
Standard library only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from itertools import combinations

NEIGHBOUR_DISTANCE = 2
SHARED_ASINS_ANYWHERE = 2
PADDED_DIGITS = 5  # ABID's zero-padded names have at least five digits; shorter ones are another series


def id_series(image_id: str) -> tuple[str, int] | None:
    """(series, number) of a numeric ABID id; None for an id that is not a number."""
    if not image_id.isdigit():
        return None
    return ("padded" if len(image_id) >= PADDED_DIGITS else "unpadded", int(image_id))


class _UnionFind:
    def __init__(self, items: list[str]) -> None:
        self.parent = {item: item for item in items}

    def find(self, item: str) -> str:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, first: str, second: str) -> None:
        a, b = self.find(first), self.find(second)
        if a != b:
            keep, drop = sorted((a, b))
            self.parent[drop] = keep


def _linked_as_neighbours(first: frozenset[str] | None, second: frozenset[str] | None) -> bool:
    if not first or not second:
        return True
    return bool(first & second)


def group_photos(asins: Mapping[str, frozenset[str] | None]) -> dict[str, str]:
    """image id -> its bin group's name (the group's smallest id), for every id given.

    `asins[id]` is the set of ASINs the photo's metadata lists, or None when it has no metadata.
    """
    ids = sorted(asins)
    groups = _UnionFind(ids)
    by_series: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for image_id in ids:
        series = id_series(image_id)
        if series is not None:
            by_series[series[0]].append((series[1], image_id))
    for numbered in by_series.values():
        numbered.sort()
        for index, (number, image_id) in enumerate(numbered):
            for later_number, later_id in numbered[index + 1 :]:
                if later_number - number > NEIGHBOUR_DISTANCE:
                    break
                if _linked_as_neighbours(asins[image_id], asins[later_id]):
                    groups.union(image_id, later_id)
    holders: dict[str, list[str]] = defaultdict(list)
    for image_id in ids:
        for asin in asins[image_id] or ():
            holders[asin].append(image_id)
    shared: dict[tuple[str, str], int] = defaultdict(int)
    for photos in holders.values():
        for pair in combinations(photos, 2):
            shared[pair] += 1
    for (first, second), number in shared.items():
        if number >= SHARED_ASINS_ANYWHERE:
            groups.union(first, second)
    return {image_id: groups.find(image_id) for image_id in ids}
