"""The label space: which item counts the model predicts, and what happens to bins above the maximum.

Counts 0..N are one class each. Bins holding more than N items are either left out of training
and evaluation (`exclude`) or gathered in one "over N" class (`bucket`) whose label is e.g. "6+"
and whose predicted count is N+1, a lower bound. The choice is saved with the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OVER_MAX_POLICIES = ("exclude", "bucket")


@dataclass(frozen=True)
class LabelSpace:
    """Maps item counts to class indices and back."""

    max_count: int = 5
    over_max: str = "exclude"

    def __post_init__(self) -> None:
        if self.max_count < 1:
            raise ValueError(f"max_count must be at least 1, got {self.max_count}")
        if self.over_max not in OVER_MAX_POLICIES:
            raise ValueError(f"over_max must be one of {OVER_MAX_POLICIES}, got {self.over_max!r}")

    @property
    def num_classes(self) -> int:
        return self.max_count + 1 + (1 if self.over_max == "bucket" else 0)

    @property
    def labels(self) -> list[str]:
        """One label per class, in class-index order: "0".."N" and, with `bucket`, "N+1+"."""
        names = [str(count) for count in range(self.max_count + 1)]
        if self.over_max == "bucket":
            names.append(f"{self.max_count + 1}+")
        return names

    def class_of(self, count: int) -> int | None:
        """The class index of a bin holding `count` items, or None when such bins are excluded."""
        if count < 0:
            raise ValueError(f"an item count cannot be negative, got {count}")
        if count <= self.max_count:
            return count
        return self.max_count + 1 if self.over_max == "bucket" else None

    def count_of(self, class_index: int) -> int:
        """The item count a class stands for (N+1 for the "over N" class: a lower bound)."""
        if not 0 <= class_index < self.num_classes:
            raise ValueError(f"class index {class_index} outside 0..{self.num_classes - 1}")
        return class_index

    def to_dict(self) -> dict[str, Any]:
        return {"max_count": self.max_count, "over_max": self.over_max, "labels": self.labels}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> LabelSpace:
        return cls(max_count=int(values["max_count"]), over_max=str(values["over_max"]))
