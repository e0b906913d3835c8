"""Watch the CLI's reads of the public ABID bucket, and cut the connection partway to test resuming."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError

from binventory.data import public_bucket

UNSIGNED_CLIENT = public_bucket.public_client  # the real factory, kept before a test replaces it


def record_public_reads(monkeypatch: pytest.MonkeyPatch, fail_after: int | None = None) -> list[str]:
    """The key of each GetObject the command sends; optionally drop the connection after N of them."""
    calls: list[str] = []

    def instrumented(max_workers: int) -> Any:
        client = UNSIGNED_CLIENT(max_workers)

        def on_get(params: dict[str, Any], **_: Any) -> None:
            calls.append(params["Key"])
            if fail_after is not None and len(calls) > fail_after:
                raise ConnectionClosedError(endpoint_url="https://aft-vbi-pds.s3.amazonaws.com")

        client.meta.events.register("before-parameter-build.s3.GetObject", on_get)
        return client

    monkeypatch.setattr(public_bucket, "public_client", instrumented)
    return calls
