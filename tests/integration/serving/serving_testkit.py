"""Helpers for the serving tests: one HTTP client for both servers; bodies come from model_testkit."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass

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
