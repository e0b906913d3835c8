"""Read a synthesized template's state machine and run it as Step Functions would, offline.

Shared by the stack tests (tests/infrastructure) and the training toolkit check (tests/integration), which
both need the exact requests the training state machine sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonata


def resources(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every resource of one type."""
    return {key: value for key, value in template["Resources"].items() if value["Type"] == resource_type}


def only_resource(template: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    found = list(resources(template, resource_type).values())
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return found[0]


def render(value: Any) -> Any:
    """Replace CloudFormation intrinsics with readable stand-ins, e.g. `<IngestBucket...>`, recursively."""
    if isinstance(value, list):
        return [render(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return delimiter.join(str(render(part)) for part in parts)
    if "Ref" in value:
        pseudo = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
        return pseudo.get(value["Ref"], f"<{value['Ref']}>")
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    if "Fn::GetStackOutput" in value:
        return f"<{value['Fn::GetStackOutput']['OutputName']}>"
    if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return (
            value["Fn::Sub"]
            .replace("${AWS::AccountId}", "123456789012")
            .replace("${AWS::Region}", "us-east-1")
        )
    return {key: render(item) for key, item in value.items()}


def state_machine_definition(template: Mapping[str, Any]) -> dict[str, Any]:
    """The training state machine's ASL, with intrinsics rendered as stand-ins."""
    machine = only_resource(template, "AWS::StepFunctions::StateMachine")
    return json.loads(render(machine["Properties"]["DefinitionString"]))


def walk(definition: Mapping[str, Any], *, choose: str) -> Iterator[str]:
    """State names from StartAt to the end, taking the choice branch `choose` ('first' or 'default')."""
    name: str | None = definition["StartAt"]
    while name is not None:
        yield name
        state = definition["States"][name]
        if state["Type"] == "Choice":
            name = state["Choices"][0]["Next"] if choose == "first" else state["Default"]
        else:
            name = None if state.get("End") else state.get("Next")


@dataclass(frozen=True)
class TaskCall:
    """One Task state's evaluated request, as Step Functions would send it."""

    state: str
    api: str
    arguments: dict[str, Any]


def sagemaker_api(resource: str) -> str:
    """`arn:aws:states:::sagemaker:createTrainingJob.sync` or `...:aws-sdk:sagemaker:createTrainingJob`
    -> `CreateTrainingJob`."""
    action = resource.rsplit(":", 1)[1].removesuffix(".sync")
    return action[0].upper() + action[1:]


def run_state_machine(
    definition: Mapping[str, Any],
    execution_input: Mapping[str, Any],
    task_results: Mapping[str, Any],
    *,
    execution_name: str,
) -> tuple[list[TaskCall], Any]:
    """Walk a JSONata state machine the way Step Functions does, answering each Task from `task_results`.

    Evaluates every `{% ... %}` expression (Arguments, Assign, Output, Choice conditions) with
    `$states` and the workflow variables bound; returns the task calls made and the final output.
    """
    variables: dict[str, Any] = {}
    calls: list[TaskCall] = []
    context = {"Execution": {"Name": execution_name}}
    name: str | None = definition["StartAt"]
    state_input: Any = dict(execution_input)
    while name is not None:
        state = definition["States"][name]
        bindings = {**variables, "states": {"input": state_input, "context": context}}
        next_name = state.get("Next")
        result = state_input
        if state["Type"] == "Task":
            arguments = _evaluate(state.get("Arguments", {}), bindings)
            calls.append(TaskCall(name, sagemaker_api(state["Resource"]), arguments))
            result = task_results[name]
        elif state["Type"] == "Choice":
            next_name = state["Default"]
            for choice in state["Choices"]:
                if _evaluate(choice["Condition"], bindings) is True:
                    next_name = choice["Next"]
                    break
        with_result = {**bindings, "states": {**bindings["states"], "result": result}}
        if "Assign" in state:
            variables.update(_evaluate(state["Assign"], with_result))
        state_input = _evaluate(state["Output"], with_result) if "Output" in state else result
        name = None if state.get("End") else next_name
    return calls, state_input


def _evaluate(value: Any, bindings: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("{%") and value.endswith("%}"):
        return jsonata.Jsonata(value[2:-2]).evaluate({}, dict(bindings))
    if isinstance(value, list):
        return [_evaluate(item, bindings) for item in value]
    if isinstance(value, dict):
        return {key: _evaluate(item, bindings) for key, item in value.items()}
    return value
