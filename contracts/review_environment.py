"""The review Lambda's environment: its variable names, Powertools' service name, and the values set.

The review construct deploys `review_environment(...)`; the local pipeline starts the same handler with the
same function (no sign-in settings: the local server signs its one reviewer in itself), and the Lambda reads
the names back at cold start (`lambdas/review/configuration.py`).
"""

from __future__ import annotations

from contracts.inventory_schema import METRICS_NAMESPACE

SERVICE_NAME = "binventory-review"  # Powertools' service name: logs, traces and metrics
# Members of this Cognito group may list and resolve flags (the `cognito:groups` claim); others get 403.
REVIEWERS_GROUP = "reviewers"
# How long a photo's presigned GET URL works: long enough to look at a bin, short enough that a copied
# link soon stops working (the page asks for fresh ones with every queue refresh).
PHOTO_URL_SECONDS = 300


class ReviewEnv:
    """Names of the review Lambda's environment variables (set by the construct, read at cold start)."""

    INVENTORY_TABLE = "INVENTORY_TABLE"
    BIN_STATE_TABLE = "BIN_STATE_TABLE"
    INGEST_BUCKET = "INGEST_BUCKET"
    EVENT_BUS_NAME = "EVENT_BUS_NAME"
    REVIEWERS_GROUP = "REVIEWERS_GROUP"
    PHOTO_URL_SECONDS = "PHOTO_URL_SECONDS"
    # The Cognito hosted UI's base URL and the page's app client; absent locally (no sign-in there).
    SIGN_IN_URL = "SIGN_IN_URL"
    SIGN_IN_CLIENT_ID = "SIGN_IN_CLIENT_ID"
    POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
    POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"


def review_environment(
    *,
    inventory_table: str,
    bin_state_table: str,
    ingest_bucket: str,
    event_bus_name: str,
    sign_in_url: str | None = None,
    sign_in_client_id: str | None = None,
) -> dict[str, str]:
    """The review Lambda's environment: what the construct deploys and what local runs and tests use."""
    environment = {
        ReviewEnv.INVENTORY_TABLE: inventory_table,
        ReviewEnv.BIN_STATE_TABLE: bin_state_table,
        ReviewEnv.INGEST_BUCKET: ingest_bucket,
        ReviewEnv.EVENT_BUS_NAME: event_bus_name,
        ReviewEnv.REVIEWERS_GROUP: REVIEWERS_GROUP,
        ReviewEnv.PHOTO_URL_SECONDS: str(PHOTO_URL_SECONDS),
        ReviewEnv.POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        ReviewEnv.POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    }
    if sign_in_url and sign_in_client_id:
        environment[ReviewEnv.SIGN_IN_URL] = sign_in_url
        environment[ReviewEnv.SIGN_IN_CLIENT_ID] = sign_in_client_id
    return environment
