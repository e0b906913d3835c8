"""Stack names and output ids: the stacks emit what `contracts.stack_outputs` names, and everything that reads
an output (the operator CLI, the operator policy) names one the stacks emit, from the stack it asks.

What each output holds is checked per stack in test_stacks_storage.py, test_stacks_training.py and
test_stacks_counting.py.
"""

from __future__ import annotations

import ast
import re

from stacks_testkit import REPO_ROOT, SynthesizedApp

from binventory.resources import StackResources
from contracts import stack_outputs

CONTRACT_OUTPUT_IDS = {
    value
    for name, value in vars(stack_outputs).items()
    if name.isupper() and isinstance(value, str) and value.isalnum() and value[0].isupper()
}
# Operator policy placeholders that are not outputs (tests/iam_check/operator.py fills them otherwise).
NOT_OUTPUTS = {"Partition", "Region", "Account", "Stage", "TrainingStateMachineName"}


# Outputs CDK adds to hand a value to another stack of the app (`PublishOutputRefTablesInventory...`).
CDK_REFERENCE_OUTPUTS = ("PublishOutput", "ExportsOutput")


def emitted(app: SynthesizedApp, kind: str) -> set[str]:
    """The output ids a stack declares for its readers (CDK's cross-stack references left out)."""
    return {key for key in app.template(kind).get("Outputs", {}) if not key.startswith(CDK_REFERENCE_OUTPUTS)}


def emitted_by(*apps: SynthesizedApp) -> set[str]:
    return {output for app in apps for kind in stack_outputs.STACK_KINDS for output in emitted(app, kind)}


def outputs_the_cli_reads() -> set[tuple[str, str]]:
    """(stack kind, output id) of every `resources.output("<kind>", stack_outputs.<NAME>)` in binventory/."""
    reads = set()
    for path in sorted((REPO_ROOT / "binventory").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr != "output" or len(node.args) != 2:
                continue
            kind, output = node.args
            where = f"{path.relative_to(REPO_ROOT)}:{node.lineno}"
            assert isinstance(kind, ast.Constant), f"{where}: name the stack kind literally"
            assert isinstance(output, ast.Attribute) and isinstance(output.value, ast.Name), where
            assert output.value.id == "stack_outputs", f"{where}: name the output by contracts.stack_outputs"
            reads.add((kind.value, getattr(stack_outputs, output.attr)))
    return reads


def test_the_stacks_emit_exactly_the_outputs_the_contract_names(
    dev_app: SynthesizedApp, prod_app: SynthesizedApp
) -> None:
    by_app = {
        name: {kind: emitted(app, kind) for kind in stack_outputs.STACK_KINDS}
        for name, app in (("dev", dev_app), ("prod", prod_app))
    }

    # dev has no model (EndpointDeployHint), prod has one (CounterModelName): together they emit every id
    assert emitted_by(dev_app, prod_app) == CONTRACT_OUTPUT_IDS
    # one stack owns each id, whatever the stage
    for output in CONTRACT_OUTPUT_IDS:
        owners = {kind for kinds in by_app.values() for kind, outputs in kinds.items() if output in outputs}
        assert len(owners) == 1, (output, owners)


def test_the_cli_asks_each_stack_for_an_output_it_emits(dev_app: SynthesizedApp) -> None:
    reads = outputs_the_cli_reads()

    assert {kind for kind, _ in reads} == set(stack_outputs.STACK_KINDS)
    # read from a stage without a model too: `model promote` deploys one into exactly such a stage
    assert {(kind, output) for kind, output in reads if output not in emitted(dev_app, kind)} == set()


def test_the_cli_without_stage_finds_the_stacks_cdk_json_deploys(dev_app: SynthesizedApp) -> None:
    cli = StackResources()

    assert {cli.stack_name(kind) for kind in stack_outputs.STACK_KINDS} == set(dev_app.templates)


def test_the_operator_policy_names_resources_by_outputs_the_stacks_emit(
    dev_app: SynthesizedApp, prod_app: SynthesizedApp
) -> None:
    policy = (REPO_ROOT / "docs" / "operator-policy.json").read_text()
    named_outputs = set(re.findall(r"\$\{([A-Za-z]+)\}", policy)) - NOT_OUTPUTS

    # an operator fills each from `npx cdk deploy`'s outputs: one no stack emits could not be filled
    assert named_outputs
    assert named_outputs <= emitted_by(dev_app, prod_app)
