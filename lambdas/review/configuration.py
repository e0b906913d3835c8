"""The review Lambda's configuration, read and validated once from its environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from contracts.review_environment import PHOTO_URL_SECONDS, REVIEWERS_GROUP, ReviewEnv


class ConfigurationError(ValueError):
    """One or more environment variables are missing or hold values the Lambda cannot use."""


@dataclass(frozen=True)
class SignIn:
    """The Cognito hosted UI the page signs in through (authorization code with PKCE)."""

    url: str
    client_id: str


@dataclass(frozen=True)
class ReviewConfiguration:
    """Everything the review Lambda is configured with; built by `load_configuration`."""

    inventory_table: str
    bin_state_table: str
    ingest_bucket: str
    event_bus_name: str
    reviewers_group: str = REVIEWERS_GROUP
    photo_url_seconds: int = PHOTO_URL_SECONDS
    sign_in: SignIn | None = None  # None: the local server signs its reviewer in itself


def load_configuration(environ: Mapping[str, str]) -> ReviewConfiguration:
    """Validate the environment; raise one ConfigurationError naming every bad variable."""
    problems: list[str] = []

    def required(name: str) -> str:
        value = environ.get(name, "").strip()
        if not value:
            problems.append(f"{name} is not set (the review construct sets it; set it to run the handler)")
        return value

    raw_seconds = environ.get(ReviewEnv.PHOTO_URL_SECONDS, "").strip() or str(PHOTO_URL_SECONDS)
    seconds = int(raw_seconds) if raw_seconds.isdigit() else 0
    if not 1 <= seconds <= 3600:
        problems.append(
            f"{ReviewEnv.PHOTO_URL_SECONDS}={raw_seconds!r} is not a whole number of seconds 1..3600"
        )
    url = environ.get(ReviewEnv.SIGN_IN_URL, "").strip()
    client_id = environ.get(ReviewEnv.SIGN_IN_CLIENT_ID, "").strip()
    if bool(url) != bool(client_id):
        problems.append(f"set both {ReviewEnv.SIGN_IN_URL} and {ReviewEnv.SIGN_IN_CLIENT_ID}, or neither")
    configuration = ReviewConfiguration(
        inventory_table=required(ReviewEnv.INVENTORY_TABLE),
        bin_state_table=required(ReviewEnv.BIN_STATE_TABLE),
        ingest_bucket=required(ReviewEnv.INGEST_BUCKET),
        event_bus_name=required(ReviewEnv.EVENT_BUS_NAME),
        reviewers_group=environ.get(ReviewEnv.REVIEWERS_GROUP, "").strip() or REVIEWERS_GROUP,
        photo_url_seconds=seconds,
        sign_in=SignIn(url.rstrip("/"), client_id) if url and client_id else None,
    )
    if problems:
        raise ConfigurationError("Invalid review Lambda configuration: " + "; ".join(problems))
    return configuration
