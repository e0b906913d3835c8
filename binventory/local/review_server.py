"""The review page and API on 127.0.0.1: each HTTP request becomes an API Gateway HTTP API event for the real
review handler, which runs in its own process as Lambda runs it (`lambda_runtime`).

What API Gateway does on AWS happens here: requests to /api/ carry the JWT claims its authorizer would pass
on, those of one local reviewer in the reviewers group (there is no sign-in on this machine); the page's own
files pass without. The handler's answer (status, headers, body) goes back as it is, CSP included.
"""

from __future__ import annotations

import base64
import contextlib
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from binventory.local.emulator import LOOPBACK, ensure_port_free
from binventory.local.poller import LocalLambdaContext
from contracts.review_environment import REVIEWERS_GROUP
from lambdas.review.api import GROUPS_CLAIM

API_PREFIX = "/api/"
MAX_BODY_BYTES = 64 * 1024
LOCAL_REVIEWER = "local-reviewer"
# The claims of the local reviewer, as API Gateway's JWT authorizer passes a Cognito access token's on.
LOCAL_REVIEWER_CLAIMS: dict[str, Any] = {
    "sub": "00000000-0000-4000-8000-000000000000",
    "username": LOCAL_REVIEWER,
    GROUPS_CLAIM: [REVIEWERS_GROUP],
    "token_use": "access",
}

Invoke = Callable[[dict[str, Any], LocalLambdaContext], dict[str, Any]]


def http_api_event(
    method: str,
    path: str,
    *,
    query: str = "",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    claims: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) proxy event, as the AWS documentation shows it."""
    now = datetime.now(UTC)
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    text = (body or b"").decode("utf-8", errors="replace") if body else None
    request_context: dict[str, Any] = {
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": lowered.get("host", LOOPBACK),
        "domainPrefix": "local",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": LOOPBACK,
            "userAgent": lowered.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": "$default",
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if claims is not None:
        request_context["authorizer"] = {"jwt": {"claims": dict(claims), "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": request_context,
        "isBase64Encoded": False,
    }
    if query:
        pairs = [part.partition("=") for part in query.split("&") if part]
        event["queryStringParameters"] = {key: value for key, _, value in pairs}
    if text is not None:
        event["body"] = text
    return event


class ReviewServer:
    """A loopback HTTP server that hands every request to the review handler; use it as a context manager."""

    def __init__(self, invoke: Invoke, *, port: int = 0, claims: Mapping[str, Any] | None = None) -> None:
        ensure_port_free(port)
        self._invoke = invoke
        self._claims = dict(claims or LOCAL_REVIEWER_CLAIMS)
        self._lock = threading.Lock()  # one execution environment: one invocation at a time
        self._server = ThreadingHTTPServer((LOOPBACK, port), self._request_handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="review-server", daemon=True)
        host, bound_port = self._server.server_address[:2]
        self.url = f"http://{host}:{bound_port}/"

    def start(self) -> ReviewServer:
        self._thread.start()
        return self

    def __enter__(self) -> ReviewServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._server.shutdown()
        self._server.server_close()

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> dict[str, Any]:
        """The handler's answer to one request (what API Gateway would turn into the HTTP response)."""
        parts = urlsplit(target)
        claims = self._claims if parts.path.startswith(API_PREFIX) else None
        event = http_api_event(
            method, parts.path, query=parts.query, headers=headers, body=body, claims=claims
        )
        context = LocalLambdaContext(
            function_name="binventory-local-review",
            timeout_millis=30_000,
            aws_request_id=event["requestContext"]["requestId"],
            invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:binventory-local-review",
            log_group_name="/aws/lambda/binventory-local-review",
        )
        with self._lock:
            return self._invoke(event, context)

    def _request_handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._answer(None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    self.send_error(413, "request body too large")
                    return
                self._answer(self.rfile.read(length))

            def _answer(self, body: bytes | None) -> None:
                try:
                    result = server.handle(self.command, self.path, dict(self.headers.items()), body)
                except Exception as error:  # the handler's process died: API Gateway answers 502
                    self.send_error(502, f"the review handler failed: {error}")
                    return
                payload = result.get("body") or ""
                data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode("utf-8")
                self.send_response(int(result.get("statusCode", 200)))
                for name, value in (result.get("headers") or {}).items():
                    self.send_header(name, str(value))
                for cookie in result.get("cookies") or []:
                    self.send_header("Set-Cookie", cookie)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the handler logs each request in the function's log."""

        return Handler
