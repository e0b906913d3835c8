"""Helpers for the serving tests: one HTTP client for both servers, and bad request bodies."""

from __future__ import annotations

import http.client
import io
import json
import random
import struct
import zlib
from dataclasses import dataclass

from countnet.synthetic import render_bin_image

TRACEBACK_START = "\nTraceback (most recent call last):"
JPEG = {"Content-Type": "image/jpeg"}


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str | None
    body: bytes

    def message(self) -> str:
        """An error's message: the toolkit sends it as text with a Python traceback after it, ours as JSON."""
        text = self.body.decode()
        if self.content_type == "application/json":
            return json.loads(text)["message"]
        return text.split(TRACEBACK_START, 1)[0]


def post(url: str, body: bytes, headers: dict[str, str]) -> Reply:
    """POST to /invocations with exactly these headers (urllib would add a form content type)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("POST", "/invocations", body=body, headers=headers)
        response = connection.getresponse()
        return Reply(response.status, response.getheader("Content-Type"), response.read())
    finally:
        connection.close()


def jpeg_bytes(count: int = 2, size: int = 96) -> bytes:
    buffer = io.BytesIO()
    render_bin_image(count, random.Random(count), size=size).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims huge dimensions (a decompression bomb, not a real picture)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )
