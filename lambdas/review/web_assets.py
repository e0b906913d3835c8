"""The review page's static files (web/), read once at cold start, and the headers they are sent with.

The page is served by the same API as its data: one origin, so no CORS, and the strict
Content-Security-Policy below is sent by this code both on AWS and on 127.0.0.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent / "web"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# Path on the API -> file in web/.
PAGE_FILES = {"/": "index.html", "/app.js": "app.js", "/style.css": "style.css"}


@dataclass(frozen=True)
class StaticFile:
    body: str
    content_type: str


def load_page_files() -> dict[str, StaticFile]:
    """Every file of the page by its path on the API."""
    return {
        path: StaticFile((WEB_DIR / name).read_text(encoding="utf-8"), CONTENT_TYPES[Path(name).suffix])
        for path, name in PAGE_FILES.items()
    }


def content_security_policy(*, photo_origin: str, sign_in_origin: str | None) -> str:
    """Scripts and styles from this origin only (no inline code), photos from the ingest bucket's S3 origin,
    API calls to this origin and the token endpoint of the Cognito hosted UI, and no framing."""
    connect = "'self'" + (f" {sign_in_origin}" if sign_in_origin else "")
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' {photo_origin}",
            f"connect-src {connect}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def security_headers(csp: str) -> dict[str, str]:
    """Headers of every response: the policy, no sniffing, no referrer (URLs carry codes and signatures)."""
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    }
