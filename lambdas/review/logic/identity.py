"""Who is asking: the reviewer's name and groups, from the Cognito token's claims.

API Gateway's JWT authorizer hands array claims over as text (`"[reviewers admins]"`); a local run
hands a list. Both read the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GROUPS_CLAIM = "cognito:groups"
# Access tokens carry `username`, ID tokens `cognito:username`; `sub` is always there.
NAME_CLAIMS = ("username", "cognito:username", "email", "sub")


@dataclass(frozen=True)
class Reviewer:
    name: str
    groups: frozenset[str]


def reviewer_from_claims(claims: Mapping[str, Any]) -> Reviewer:
    name = next((str(claims[c]) for c in NAME_CLAIMS if claims.get(c)), "unknown")
    raw = claims.get(GROUPS_CLAIM) or []
    if isinstance(raw, str):
        raw = raw.strip().removeprefix("[").removesuffix("]").replace(",", " ").split()
    return Reviewer(name=name, groups=frozenset(str(group).strip() for group in raw))
