"""Check every call a principal made (or an AWS service makes for it) against its role's policies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from iam_check.evaluation import Decision, decide
from iam_check.recording import AwsCall
from iam_check.requests import IamRequest, requests_for
from iam_check.templates import RolePolicy


@dataclass(frozen=True)
class ServiceCall:
    """A call an AWS service makes with the role on the project's behalf (SageMaker reading a training
    channel, Lambda polling the queue): no botocore call of ours to record, so it is written down."""

    description: str
    requests: tuple[IamRequest, ...]

    def __str__(self) -> str:
        return self.description


def denials(policy: RolePolicy, calls: Iterable[AwsCall | ServiceCall]) -> list[str]:
    """One line per request the role's policies do not allow, naming the call, action, resource, role."""
    found: list[str] = []
    for call in calls:
        requests = call.requests if isinstance(call, ServiceCall) else requests_for(call)
        for request in requests:
            decision = decide(policy.statements, request, policy.principal)
            if decision is not Decision.ALLOWED:
                line = f"{call}: {request} is {decision.value} for role {policy.name}"
                if line not in found:
                    found.append(line)
    return found


def assert_allowed(policy: RolePolicy, calls: Iterable[AwsCall | ServiceCall]) -> None:
    """Fail with every denial at once, so one run shows all that a role lacks."""
    missing = denials(policy, calls)
    assert not missing, "IAM would refuse these calls on AWS:\n  " + "\n  ".join(missing)
