"""Decide one request against identity-policy statements, as IAM's policy evaluation logic does.

An explicit Deny wins, then any Allow; otherwise the request is implicitly denied. Actions match
case-insensitively, resources case-sensitively, both with `*` and `?` wildcards. Conditions support the
operators the project's policies use; any other operator raises, so a new one gets implemented (and
tested) before a policy can rely on it. Written here rather than taken from PyPI: the Python packages
that read IAM policies (policyuniverse, cloudsplaining, policy_sentry) expand or scan them, none decides
a request, and the one offline simulator that does (@cloud-copilot/iam-simulate) is Node.js.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from iam_check.requests import IamRequest


class Decision(StrEnum):
    ALLOWED = "allowed"
    EXPLICITLY_DENIED = "explicitly denied"
    IMPLICITLY_DENIED = "implicitly denied (no statement allows it)"


class UnsupportedCondition(NotImplementedError):
    """A policy uses a condition operator this evaluator does not implement yet."""


@dataclass(frozen=True)
class Statement:
    """One policy statement with every intrinsic already resolved to plain strings."""

    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    conditions: Mapping[str, Mapping[str, Any]] | None = None
    source: str = ""  # where it came from, for messages
    # Resource policies name who they apply to ("*", "AWS:<arn>", "Service:<service principal>");
    # identity policies have no Principal element (None): they apply to the identity they are attached to.
    principals: tuple[str, ...] | None = None

    @classmethod
    def from_json(cls, statement: Mapping[str, Any], source: str = "") -> Statement:
        return cls(
            effect=statement["Effect"],
            actions=_strings(statement.get("Action")),
            not_actions=_strings(statement.get("NotAction")),
            resources=_strings(statement.get("Resource")),
            not_resources=_strings(statement.get("NotResource")),
            conditions=statement.get("Condition"),
            source=source,
            principals=_principals(statement["Principal"]) if "Principal" in statement else None,
        )

    def applies_to(self, request: IamRequest, principal: str | None = None) -> bool:
        return (
            self._names(principal)
            and self._matches_action(request.action)
            and self._matches_resource(request.resource)
            and conditions_hold(self.conditions or {}, request.context)
        )

    def _names(self, principal: str | None) -> bool:
        if self.principals is None:
            return True
        return "*" in self.principals or "AWS:*" in self.principals or principal in self.principals

    def _matches_action(self, action: str) -> bool:
        if self.not_actions:
            return not any(_glob(pattern, ignore_case=True).fullmatch(action) for pattern in self.not_actions)
        return any(_glob(pattern, ignore_case=True).fullmatch(action) for pattern in self.actions)

    def _matches_resource(self, resource: str) -> bool:
        if self.not_resources:
            return not any(_resource_matches(pattern, resource) for pattern in self.not_resources)
        return any(_resource_matches(pattern, resource) for pattern in self.resources)


def decide(statements: Iterable[Statement], request: IamRequest, principal: str | None = None) -> Decision:
    """Identity-policy statements decide for their identity; resource-policy ones for `principal`."""
    applicable = [statement for statement in statements if statement.applies_to(request, principal)]
    if any(statement.effect == "Deny" for statement in applicable):
        return Decision.EXPLICITLY_DENIED
    if any(statement.effect == "Allow" for statement in applicable):
        return Decision.ALLOWED
    return Decision.IMPLICITLY_DENIED


def _resource_matches(pattern: str, resource: str) -> bool:
    # A request for "*" (an action without resource types) is granted only by a "*" resource.
    if resource == "*":
        return pattern == "*"
    return bool(_glob(pattern, ignore_case=False).fullmatch(resource))


@cache
def _glob(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE if ignore_case else 0)


# --- conditions -------------------------------------------------------------------------------------
def _string_equals(value: str, wanted: str) -> bool:
    return value == wanted


def _string_like(value: str, wanted: str) -> bool:
    return bool(_glob(wanted, ignore_case=False).fullmatch(value))


def _bool(value: str, wanted: str) -> bool:
    return value.lower() == str(wanted).lower()


_POSITIVE = {
    "StringEquals": _string_equals,
    "StringLike": _string_like,
    "ArnEquals": _string_equals,
    "ArnLike": _string_like,
    "Bool": _bool,
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "ArnNotLike": "ArnLike"}


def conditions_hold(conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    """Every operator block holds (AND); within one key, any of its values matches (OR)."""
    return all(
        _holds(operator, key, _strings(values), context)
        for operator, block in conditions.items()
        for key, values in block.items()
    )


def _holds(operator: str, key: str, wanted: Sequence[str], context: Mapping[str, str]) -> bool:
    set_prefix, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if set_prefix not in ("", "ForAnyValue", "ForAllValues"):
        raise UnsupportedCondition(f"condition operator {operator}")
    value = _context_value(context, key)
    if value is None:
        # A missing key matches only ...IfExists and negated operators.
        return if_exists or base in _NEGATED
    if base in _NEGATED:
        return not any(_POSITIVE[_NEGATED[base]](value, item) for item in wanted)
    if base not in _POSITIVE:
        raise UnsupportedCondition(f"condition operator {operator}: implement it in iam_check/evaluation.py")
    return any(_POSITIVE[base](value, item) for item in wanted)


def _context_value(context: Mapping[str, str], key: str) -> str | None:
    # Condition key names are case-insensitive.
    lowered = key.lower()
    return next((value for name, value in context.items() if name.lower() == lowered), None)


def _principals(value: Any) -> tuple[str, ...]:
    """`"*"` or `{"Service": [...], "AWS": ...}` -> `("*",)` or `("Service:...", "AWS:...")`."""
    if value == "*":
        return ("*",)
    return tuple(f"{kind}:{name}" for kind, names in value.items() for name in _strings(names))


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(str(item) if not isinstance(item, bool) else str(item).lower() for item in items)
