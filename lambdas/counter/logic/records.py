"""The inventory item written for one image version, built from what the Lambda learned about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from contracts.inventory_schema import ExpectedSource, Status, record_key, review_queue_keys

from .expected import ExpectedQuantity
from .reconcile import Reconciliation


@dataclass(frozen=True)
class ImageVersion:
    """Which object version a record is about, and the bin it belongs to."""

    bin_id: str
    bucket: str
    key: str
    version: str
    captured_at: str  # inventory_schema.format_timestamp form

    @property
    def record_key(self) -> str:
        return record_key(self.bucket, self.key, self.version)


@dataclass(frozen=True)
class InventoryRecord:
    """One inventory table item (attribute names as in docs/ARCHITECTURE.md); None means absent."""

    bin_id: str
    record_key: str
    image_bucket: str
    image_key: str
    image_version: str
    captured_at: str
    processed_at: str
    status: Status
    reason: str | None = None
    predicted_count: int | None = None
    predicted_label: str | None = None
    confidence: float | None = None
    probabilities: dict[str, float] | None = None
    model_version: str | None = None
    expected_quantity: int | None = None
    expected_source: ExpectedSource | None = None
    delta: int | None = None
    expected_probability: float | None = None  # the model's calibrated P(expected count)
    wrong_probability: float | None = None  # P(the record is wrong | the photo) the status was decided on
    look_above: float | None = None  # the wrong_probability above which a person looks

    @classmethod
    def counted(
        cls,
        image: ImageVersion,
        reconciliation: Reconciliation,
        expected: ExpectedQuantity,
        processed_at: str,
    ) -> InventoryRecord:
        """The record of an image the model counted; `reason` lists malformed expectations skipped."""
        prediction = reconciliation.prediction
        reasons = [*expected.problems, *([reconciliation.reason] if reconciliation.reason else [])]
        return cls(
            **_identity(image, processed_at),
            status=reconciliation.status,
            reason="; ".join(reasons) or None,
            predicted_count=prediction.count,
            predicted_label=prediction.label,
            confidence=prediction.confidence,
            probabilities=dict(prediction.probabilities),
            model_version=prediction.model_version,
            expected_quantity=reconciliation.expected_quantity,
            expected_source=expected.source,
            delta=reconciliation.delta,
            expected_probability=reconciliation.expected_probability,
            wrong_probability=reconciliation.wrong_probability,
            look_above=reconciliation.look_above,
        )

    @classmethod
    def invalid_image(cls, image: ImageVersion, reason: str, processed_at: str) -> InventoryRecord:
        """The record of an upload that is not a usable image (never retried)."""
        return cls(**_identity(image, processed_at), status=Status.INVALID_IMAGE, reason=reason)

    @classmethod
    def object_missing(cls, image: ImageVersion, reason: str, processed_at: str) -> InventoryRecord:
        """The record of an object version deleted before it could be read."""
        return cls(**_identity(image, processed_at), status=Status.OBJECT_MISSING, reason=reason)

    def attributes(self) -> dict[str, Any]:
        """The item as plain Python values (enums as strings), without absent attributes.

        A flagged record also carries the review queue's index keys, so it waits for a person from the
        moment it is written (in the same write).
        """
        values = {name: value for name, value in asdict(self).items() if value is not None}
        values["status"] = self.status.value
        if self.expected_source is not None:
            values["expected_source"] = self.expected_source.value
        return values | review_queue_keys(self.status, self.captured_at)


def _identity(image: ImageVersion, processed_at: str) -> dict[str, str]:
    return {
        "bin_id": image.bin_id,
        "record_key": image.record_key,
        "image_bucket": image.bucket,
        "image_key": image.key,
        "image_version": image.version,
        "captured_at": image.captured_at,
        "processed_at": processed_at,
    }
