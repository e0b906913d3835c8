"""Fixtures for the count model's unit tests (shared with the integration tier through model_testkit)."""

from __future__ import annotations

from model_testkit import make_image_file  # noqa: F401  (a fixture, offered to this folder's tests)
