"""Lambda entry point: the review API (API Gateway HTTP API, payload 2.0) and the page it serves.

It only adapts: each route reads the request, checks the reviewer, and calls `ReviewService`.
API Gateway's JWT authorizer refuses a request without a valid Cognito token (401) before it gets
here; the group check is this Lambda's: a signed-in user outside the reviewers group gets 403.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from contracts.inventory_schema import ReviewMetric

from .configuration import ReviewConfiguration, load_configuration
from .dal.reviews import NotResolvable, RecordNotFound
from .logic.identity import Reviewer, reviewer_from_claims
from .logic.resolution import InvalidResolution, parse_resolution
from .observability import logger, metrics, tracer
from .service import AlreadyResolved, NotAFlag, ReviewService
from .web_assets import content_security_policy, load_page_files, security_headers

app = APIGatewayHttpResolver()
MAX_QUEUE_ENTRIES = 200  # a page shows the top of the queue; the rest come as bins are resolved
MAX_STATS_WEEKS = 52


@functools.cache
def configuration() -> ReviewConfiguration:
    """Read and validated once per execution environment."""
    return load_configuration(os.environ)


@functools.cache
def service() -> ReviewService:
    return ReviewService.from_configuration(configuration())


@functools.cache
def headers() -> dict[str, str]:
    sign_in = configuration().sign_in
    sign_in_origin = None
    if sign_in:
        parts = urlsplit(sign_in.url)
        sign_in_origin = f"{parts.scheme}://{parts.netloc}"
    return security_headers(
        content_security_policy(photo_origin=service().photos.origin(), sign_in_origin=sign_in_origin)
    )


PAGE_FILES = load_page_files()


def with_security_headers(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """Every answer, page or data, carries the CSP and the other security headers."""
    response = next_middleware(app)
    response.headers.update(headers())
    return response


def reviewers_only(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """401 without a signed-in user (API Gateway's authorizer answers first on AWS); 403 outside the group."""
    authorizer = app.current_event.request_context.authorizer
    claims = authorizer.jwt_claim if authorizer else None
    if not claims:
        raise UnauthorizedError("sign in to review flagged bins")
    reviewer = reviewer_from_claims(claims)
    if configuration().reviewers_group not in reviewer.groups:
        raise ForbiddenError(
            f"{reviewer.name} is signed in but not in the {configuration().reviewers_group} group: "
            "ask an administrator to add you"
        )
    app.append_context(reviewer=reviewer)
    return next_middleware(app)


app.use(middlewares=[with_security_headers])


def _static(path: str) -> Callable[[], Response]:
    def serve() -> Response:
        page = PAGE_FILES[path]
        return Response(status_code=200, content_type=page.content_type, body=page.body)

    return serve


for _path in PAGE_FILES:
    app.get(_path)(_static(_path))


@app.get("/config.json")
def page_configuration() -> dict[str, Any]:
    """What the page needs before sign-in: the hosted UI and app client (None locally)."""
    sign_in = configuration().sign_in
    return {"sign_in": {"url": sign_in.url, "client_id": sign_in.client_id} if sign_in else None}


@app.get("/api/queue", middlewares=[reviewers_only])
def queue() -> dict[str, Any]:
    limit = _int_parameter("limit", default=50, low=1, high=MAX_QUEUE_ENTRIES)
    return {**service().queue_view(limit), "reviewer": _reviewer().name}


@app.get("/api/bins/<bin_id>", middlewares=[reviewers_only])
def bin_task(bin_id: str) -> dict[str, Any]:
    found = service().bin_view(bin_id)
    if found is None:
        raise NotFoundError(f"bin {bin_id!r} has no pending flag")
    return found


@app.post("/api/reviews", middlewares=[reviewers_only])
def resolve() -> Response:
    try:
        body = json.loads(app.current_event.body or "")
    except ValueError as error:
        raise BadRequestError(f"the body is not JSON: {error}") from error
    resolution = parse_resolution(body)
    reviewed = service().resolve(resolution, reviewer=_reviewer().name)
    metrics.add_metric(name=ReviewMetric.for_outcome(resolution.outcome), unit=MetricUnit.Count, value=1)
    logger.info(
        "flag resolved",
        extra={
            "bin_id": resolution.bin_id,
            "record_key": resolution.record_key,
            "outcome": resolution.outcome,
        },
    )
    body_out = {"record": reviewed.record, "expected_quantity_set": reviewed.expected_quantity_set}
    return Response(status_code=200, content_type="application/json", body=json.dumps(body_out))


@app.get("/api/stats", middlewares=[reviewers_only])
def stats() -> dict[str, Any]:
    weeks = _int_parameter("weeks", default=8, low=1, high=MAX_STATS_WEEKS)
    return {"weeks": [week.as_dict() for week in service().stats(weeks)]}


@app.exception_handler(InvalidResolution)
def _invalid(error: InvalidResolution) -> Response:
    return _error(400, str(error))


@app.exception_handler(RecordNotFound)
def _not_found(error: RecordNotFound) -> Response:
    return _error(404, str(error.args[0]))


@app.exception_handler(AlreadyResolved)
def _already_resolved(error: AlreadyResolved) -> Response:
    return _error(409, str(error))


@app.exception_handler(NotAFlag)
def _not_a_flag(error: NotAFlag) -> Response:
    return _error(409, str(error))


@app.exception_handler(NotResolvable)
def _not_resolvable(error: NotResolvable) -> Response:
    return _error(409, "the flag changed while you resolved it; reload the queue")


def _error(status: int, message: str) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps({"statusCode": status, "message": message}),
        headers=headers(),
    )


def _reviewer() -> Reviewer:
    return app.context["reviewer"]


def _int_parameter(name: str, *, default: int, low: int, high: int) -> int:
    raw = app.current_event.get_query_string_value(name, str(default)) or str(default)
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequestError(f"{name}={raw!r} is not a whole number from {low} to {high}")
    return int(raw)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
