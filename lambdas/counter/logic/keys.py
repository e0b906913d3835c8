"""Where an uploaded object belongs: its bin id, its record key and the ABID metadata key beside it.

Key layout (see `schema`):
    incoming/<bin_id>/<image file>   the bin id is the first folder under incoming/
    bin-images/<image_id>.<ext>      ABID layout: the bin id is the image id, kept as a string
    metadata/<image_id>.json         ABID metadata for bin-images/<image_id>.<ext>
"""

from __future__ import annotations

from ..schema import ABID_IMAGES_PREFIX, ABID_METADATA_PREFIX, INCOMING_PREFIX


class UnroutableKey(ValueError):
    """The object key does not follow the layout, so no bin can be named for it."""


def bin_id_for_key(key: str) -> str:
    """The bin an image belongs to; `bin-images/01013.jpg` -> `01013` (never an int)."""
    if key.startswith(INCOMING_PREFIX):
        bin_id, _, file_name = key[len(INCOMING_PREFIX) :].partition("/")
        if bin_id and file_name:
            return bin_id
    elif key.startswith(ABID_IMAGES_PREFIX):
        image_id = _abid_image_id(key)
        if image_id:
            return image_id
    raise UnroutableKey(
        f"object key {key!r} names no bin: upload to {INCOMING_PREFIX}<bin_id>/<image file> "
        f"or {ABID_IMAGES_PREFIX}<image_id>.jpg"
    )


def abid_metadata_key(key: str) -> str | None:
    """`bin-images/00001.jpg` -> `metadata/00001.json`; None outside the ABID layout."""
    if not key.startswith(ABID_IMAGES_PREFIX):
        return None
    image_id = _abid_image_id(key)
    return f"{ABID_METADATA_PREFIX}{image_id}.json" if image_id else None


def record_key(bucket: str, key: str, version: str) -> str:
    """The inventory sort key of one object version: `<bucket>/<key>#<version id or etag>`."""
    return f"{bucket}/{key}#{version}"


def _abid_image_id(key: str) -> str:
    file_name = key[len(ABID_IMAGES_PREFIX) :]
    if "/" in file_name:
        return ""
    stem, dot, _extension = file_name.rpartition(".")
    return stem if dot else file_name
