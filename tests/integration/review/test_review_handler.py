"""The review Lambda behind API Gateway: the queue, resolutions, their guards, and what a reviewer may do."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from review_world import OUTSIDER_CLAIMS, ReviewWorld, api_event, recent

from contracts.inventory_schema import REVIEW_RESOLVED_DETAIL_TYPE, ExpectedSource
from contracts.review_environment import PHOTO_URL_SECONDS

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def flagged_bins(world: ReviewWorld) -> dict[str, dict[str, Any]]:
    """Three flagged bins and one that matches: B-sure (P(expected) tiny), B-unsure, B-maybe; B-ok."""
    return {
        "B-sure": world.counted("B-sure", captured_at=recent(30), count=5, expected=2),
        "B-unsure": world.counted("B-unsure", captured_at=recent(29), count=3, expected=4, confidence=0.45),
        "B-maybe": world.counted("B-maybe", captured_at=recent(28), count=1, expected=2, confidence=0.5),
        "B-ok": world.counted("B-ok", captured_at=recent(27), count=3, expected=3),
    }


def test_the_queue_lists_flagged_bins_most_likely_errors_first_with_short_lived_photo_links(
    world: ReviewWorld, invoke: Invoke
) -> None:
    # given three flagged bins and one that matches
    flagged_bins(world)

    # when a reviewer opens the queue
    response = invoke(api_event("GET", "/api/queue"))

    # then the flagged bins come most likely errors first, and the matching bin is not there
    queue = body_of(response)
    assert response["statusCode"] == 200
    order = [entry["bin_id"] for entry in queue["entries"]]
    assert set(order) == {"B-sure", "B-unsure", "B-maybe"}
    priorities = [entry["priority"] for entry in queue["entries"]]
    assert priorities == sorted(priorities, reverse=True) and order[0] == "B-sure"
    # and each photo link is a presigned GET that expires in minutes
    link = urlsplit(queue["entries"][0]["photo_url"])
    assert parse_qs(link.query)["X-Amz-Expires"] == [str(PHOTO_URL_SECONDS)] and PHOTO_URL_SECONDS <= 600
    assert queue["progress"] == {"resolved_today": 0, "total_today": 3}


def test_a_bin_with_an_older_pending_flag_is_one_task_showing_its_latest_photo(
    world: ReviewWorld, invoke: Invoke
) -> None:
    # given a bin flagged twice
    world.counted("B-1", captured_at=recent(60 * 24), count=5, expected=2)
    newer = world.counted("B-1", captured_at=recent(30), count=4, expected=2)

    # when the queue is read
    (entry,) = body_of(invoke(api_event("GET", "/api/queue")))["entries"]

    # then the bin is one task: its latest photo, saying one older flag waits
    assert (entry["record_key"], entry["older_pending"]) == (newer["record_key"], 1)


@pytest.mark.parametrize(
    ("outcome", "count", "expected_after", "source_after"),
    [
        ("CONFIRMED", None, 2, None),
        ("CORRECTED", 5, 5, ExpectedSource.REVIEW.value),
        ("UNREADABLE", None, 2, None),
    ],
)
def test_a_resolution_is_stored_on_the_record_announced_and_a_correction_sets_the_bin_s_expectation(
    world: ReviewWorld,
    invoke: Invoke,
    outcome: str,
    count: int | None,
    expected_after: int,
    source_after: str | None,
) -> None:
    # given a flagged bin whose expected quantity came from the warehouse
    world.repository.dynamodb.put_item(
        TableName=world.repository.bin_state_table,
        Item={"bin_id": {"S": "B-1"}, "expected_quantity": {"N": "2"}},
    )
    record = world.counted("B-1", captured_at=recent(30), count=5, expected=2)

    # when a reviewer resolves it with a note
    body = {"bin_id": "B-1", "record_key": record["record_key"], "outcome": outcome, "note": "recounted"}
    if count is not None:
        body["count"] = count
    response = invoke(api_event("POST", "/api/reviews", body=body))

    # then the record holds who found what, and when
    assert response["statusCode"] == 200, response["body"]
    stored = world.record("B-1", record["record_key"])
    assert (stored["review_outcome"], stored["reviewer"], stored["review_note"]) == (
        outcome,
        "alice",
        "recounted",
    )
    assert stored.get("reviewed_count") == count
    # and the bin's expectation changed only for a correction, with the review as its source
    state = world.bin_state("B-1")
    assert (state["expected_quantity"], state.get("expected_source")) == (expected_after, source_after)
    # and the flag left the queue, and a ReviewResolved event went out
    assert body_of(invoke(api_event("GET", "/api/queue")))["entries"] == []
    (event,) = world.published()
    assert (
        event["detail-type"] == REVIEW_RESOLVED_DETAIL_TYPE and event["detail"]["review_outcome"] == outcome
    )


def test_a_second_reviewer_is_told_who_resolved_the_flag_first(world: ReviewWorld, invoke: Invoke) -> None:
    # given a flag alice resolved
    record = world.counted("B-1", captured_at=recent(30), count=5, expected=2)
    resolution = {"bin_id": "B-1", "record_key": record["record_key"], "outcome": "CONFIRMED"}
    assert invoke(api_event("POST", "/api/reviews", body=resolution))["statusCode"] == 200

    # when carol resolves it too
    carol = {**OUTSIDER_CLAIMS, "username": "carol", "cognito:groups": "[reviewers]"}
    response = invoke(
        api_event("POST", "/api/reviews", body={**resolution, "outcome": "UNREADABLE"}, claims=carol)
    )

    # then she gets 409 naming alice and the time, and alice's resolution stands
    assert response["statusCode"] == 409
    assert "already resolved as CONFIRMED by alice at 20" in body_of(response)["message"]
    assert world.record("B-1", record["record_key"])["review_outcome"] == "CONFIRMED"


def test_without_sign_in_the_api_answers_401_and_outside_the_reviewers_group_403(
    world: ReviewWorld, invoke: Invoke
) -> None:
    # given a flagged bin
    record = world.counted("B-1", captured_at=recent(30), count=5, expected=2)
    resolution = {"bin_id": "B-1", "record_key": record["record_key"], "outcome": "CONFIRMED"}

    # when someone without a token, and someone signed in outside the group, ask
    anonymous = [invoke(api_event("GET", "/api/queue", claims=None))["statusCode"]]
    anonymous.append(invoke(api_event("POST", "/api/reviews", body=resolution, claims=None))["statusCode"])
    outsider = invoke(api_event("POST", "/api/reviews", body=resolution, claims=OUTSIDER_CLAIMS))

    # then: 401, 403 with the reason, and the flag is still pending
    assert anonymous == [401, 401]
    assert outsider["statusCode"] == 403 and "not in the reviewers group" in body_of(outsider)["message"]
    assert "review_outcome" not in world.record("B-1", record["record_key"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "MATCH"}, "status cannot be changed by a review"),
        ({"predicted_count": 2}, "predicted_count cannot be changed by a review"),
        ({"outcome": "CORRECTED", "count": -1}, "count -1 is not a whole number of items from 0 to 999"),
        ({"outcome": "CORRECTED", "count": 2.5}, "count 2.5 is not a whole number"),
        ({"outcome": "CORRECTED", "count": 1000}, "count 1000 is not a whole number of items from 0 to 999"),
        ({"outcome": "CORRECTED"}, "count None is not a whole number"),
        ({"outcome": "MAYBE"}, "outcome 'MAYBE' is not one of CONFIRMED, CORRECTED, UNREADABLE"),
        ({"count": 3}, "count is given only with outcome CORRECTED"),
        ({"note": "x" * 501}, "note is 501 characters long; at most 500 are kept"),
        ({"note": 7}, "note must be text"),
        ({"note": "bell\x07"}, "note holds control characters"),
    ],
)
def test_a_reviewer_may_change_only_the_review_fields_and_bad_values_get_a_clear_400(
    world: ReviewWorld, invoke: Invoke, change: dict[str, Any], message: str
) -> None:
    # given a flagged bin
    record = world.counted("B-1", captured_at=recent(30), count=5, expected=2)

    # when a reviewer sends a resolution with a bad or forbidden field
    body = {"bin_id": "B-1", "record_key": record["record_key"], "outcome": "CONFIRMED", **change}
    response = invoke(api_event("POST", "/api/reviews", body=body))

    # then it is refused with a message naming the field, and nothing changed
    assert response["statusCode"] == 400
    assert message in body_of(response)["message"]
    stored = world.record("B-1", record["record_key"])
    assert (
        "review_outcome" not in stored and stored["status"] == "MISMATCH" and stored["predicted_count"] == 5
    )


def test_a_record_that_is_not_flagged_cannot_be_resolved(world: ReviewWorld, invoke: Invoke) -> None:
    # given a bin that matched
    record = world.counted("B-ok", captured_at=recent(30), count=3, expected=3)

    # when a reviewer tries to resolve it, and a record that does not exist
    body = {"bin_id": "B-ok", "record_key": record["record_key"], "outcome": "CORRECTED", "count": 1}
    matched = invoke(api_event("POST", "/api/reviews", body=body))
    missing = invoke(api_event("POST", "/api/reviews", body={**body, "record_key": "nope"}))

    # then: 409 (nothing to resolve) and 404, and the bin's expectation is untouched
    assert matched["statusCode"] == 409 and "MATCH, not flagged" in body_of(matched)["message"]
    assert missing["statusCode"] == 404
    assert world.bin_state("B-ok")["latest_status"] == "MATCH" and "expected_source" not in world.bin_state(
        "B-ok"
    )


def test_the_page_is_served_with_a_strict_content_security_policy(world: ReviewWorld, invoke: Invoke) -> None:
    # when the browser asks for the page (a public route: no token yet)
    page = invoke(api_event("GET", "/", claims=None))
    script = invoke(api_event("GET", "/app.js", claims=None))

    # then it gets HTML whose policy allows scripts and styles from this origin alone, photos from S3
    policy = page["headers"]["Content-Security-Policy"]
    assert page["statusCode"] == 200 and page["headers"]["Content-Type"].startswith("text/html")
    assert (
        "script-src 'self'" in policy and "'unsafe-inline'" not in policy and "default-src 'none'" in policy
    )
    assert "frame-ancestors 'none'" in policy and "amazonaws.com" in policy.split("img-src")[1].split(";")[0]
    assert script["headers"]["Content-Type"].startswith("text/javascript")
    assert "innerHTML" not in script["body"] and "insertAdjacentHTML" not in script["body"]


def test_stats_count_real_errors_among_judged_flags(world: ReviewWorld, invoke: Invoke) -> None:
    # given four flags: one corrected to another count, one confirmed, one unreadable, one pending
    keys = [
        world.counted(f"B-{i}", captured_at=recent(30), count=5, expected=2)["record_key"] for i in range(4)
    ]
    for i, (outcome, count) in enumerate([("CORRECTED", 5), ("CONFIRMED", None), ("UNREADABLE", None)]):
        body = {"bin_id": f"B-{i}", "record_key": keys[i], "outcome": outcome}
        if count is not None:
            body["count"] = count
        assert invoke(api_event("POST", "/api/reviews", body=body))["statusCode"] == 200

    # when the weekly figures are asked for
    weeks = body_of(invoke(api_event("GET", "/api/stats", query="weeks=2")))["weeks"]

    # then the two weeks raised 4 flags, and this one resolved 3; one of the 2 judged was a real error
    (last_week, week) = weeks
    assert last_week["flags_raised"] + week["flags_raised"] == 4
    assert (week["flags_resolved"], week["unreadable"]) == (3, 1)
    assert (week["real_errors"], week["judged"], week["precision"]) == (1, 2, 0.5)
    assert (week["model_correct"], week["reviewed_with_count"]) == (1, 2)
