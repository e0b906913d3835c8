"""The review Lambda's role is enough: every call the handler makes, and what a browser does with its
presigned photo links, is allowed; the `review_calls` fixture (conftest) checks every other test here too."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from iam_check.check import assert_allowed
from iam_check.recording import CallRecorder
from review_iam import review_role_policy
from review_world import ReviewWorld, api_event, recent

# Every API the review Lambda calls: the queue and figures (Query), a record and a bin (GetItem), a
# resolution (TransactWriteItems) and its event (PutEvents); and the photo links it signs (GetObject: no
# request is made, but S3 authorizes the browser's GET as the role's, so the role must allow it).
REVIEW_OPERATIONS = {
    ("s3", "GetObject"),
    ("dynamodb", "Query"),
    ("dynamodb", "GetItem"),
    ("dynamodb", "TransactWriteItems"),
    ("events", "PutEvents"),
}


def test_every_call_the_handler_makes_is_one_its_synthesized_role_allows(
    world: ReviewWorld, invoke: Callable[[dict[str, Any]], dict[str, Any]], review_calls: CallRecorder
) -> None:
    # given flags to review
    corrected = world.counted("B-1", captured_at=recent(20), count=5, expected=2)
    world.counted("B-2", captured_at=recent(10), count=4, expected=1)

    # when a reviewer reads the queue, one bin, corrects a flag, tries it again, and reads the figures
    queue = json.loads(invoke(api_event("GET", "/api/queue"))["body"])
    assert invoke(api_event("GET", "/api/bins/B-2"))["statusCode"] == 200
    resolution = {"bin_id": "B-1", "record_key": corrected["record_key"], "outcome": "CORRECTED", "count": 5}
    assert invoke(api_event("POST", "/api/reviews", body=resolution))["statusCode"] == 200
    assert invoke(api_event("POST", "/api/reviews", body=resolution))["statusCode"] == 409
    assert invoke(api_event("GET", "/api/stats"))["statusCode"] == 200

    # then it made each of its calls, and the role allows every one of them
    assert {(call.service, call.operation) for call in review_calls.calls} == REVIEW_OPERATIONS
    assert_allowed(review_role_policy(), review_calls.calls)
    # and each photo link names its version: S3 serves it as the role's s3:GetObjectVersion, checked above
    links = [urlsplit(entry["photo_url"]) for entry in queue["entries"]]
    assert links and all(parse_qs(link.query).get("versionId") for link in links)
