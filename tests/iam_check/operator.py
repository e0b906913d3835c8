"""The CLI's principal: the documented operator policy (docs/operator-policy.json), per test's names.

The document names resources by `${Placeholder}`s: the stacks' output ids (`${InventoryTableName}`), the
stage, partition, region and account, and `${TrainingStateMachineName}` (the last part of the state
machine's ARN). An operator fills them from `npx cdk deploy`'s outputs; a test fills them from the outputs
the CLI read (DescribeStacks answers, BINVENTORY_* variables). A placeholder the test never gave stays
unmatched, so a call that needs it is refused.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from binventory.resources import default_stage, env_var_for
from contracts import stack_outputs
from iam_check import sagemaker_jobs
from iam_check.check import assert_allowed
from iam_check.evaluation import Statement
from iam_check.recording import CallRecorder
from iam_check.requests import ACCOUNT, PARTITION
from iam_check.synth import templates
from iam_check.templates import Deployment, RolePolicy

OPERATOR_POLICY = Path(__file__).resolve().parents[2] / "docs" / "operator-policy.json"
# A reviewer's: approving a model version is not an operator's to do (`binventory model approve`).
APPROVER_POLICY = OPERATOR_POLICY.with_name("approver-policy.json")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z]+)\}")
_OUTPUT_IDS = [
    value for name, value in vars(stack_outputs).items() if name.isupper() and isinstance(value, str)
]


def operator_policy(values: Mapping[str, str], path: Path = OPERATOR_POLICY) -> RolePolicy:
    """The operator policy (or another one in docs/, `path`) with `values` in place of its placeholders."""

    def fill(match: re.Match[str]) -> str:
        return values.get(match.group(1), f"<unset {match.group(1)}>")

    document = json.loads(_PLACEHOLDER.sub(fill, path.read_text()))
    name = f"docs/{path.name}"
    statements = tuple(Statement.from_json(s, f"{name}#{s['Sid']}") for s in document["Statement"])
    return RolePolicy(f"policy {name}", "the operator's user or role", statements)


def values_seen_by(recorder: CallRecorder) -> dict[str, str]:
    """Placeholder values as the CLI found them in one test: stack outputs, then BINVENTORY_* overrides."""
    region = recorder.calls[0].region if recorder.calls else "us-east-1"
    found = dict(recorder.stack_outputs)
    found.update(
        {
            output: os.environ[env_var_for(output)]
            for output in _OUTPUT_IDS
            if env_var_for(output) in os.environ
        }
    )
    stacks = [call.params["StackName"] for call in recorder.calls if call.operation == "DescribeStacks"]
    stage = stacks[0].removeprefix("binventory-").rsplit("-", 1)[0] if stacks else default_stage()
    machine = found.get(stack_outputs.TRAINING_STATE_MACHINE_ARN, "")
    return {
        **found,
        "Partition": PARTITION,
        "Region": region,
        "Account": ACCOUNT,
        "Stage": stage,
        "TrainingStateMachineName": machine.rsplit(":", 1)[-1]
        if machine
        else "<unset TrainingStateMachineName>",
    }


def check_cli_calls(recorder: CallRecorder, policy: Path = OPERATOR_POLICY) -> None:
    """The CLI's calls against the operator policy (or `policy`); its transform jobs against the transform
    role (the role of the model `count backfill` creates for them)."""
    values = values_seen_by(recorder)
    assert_allowed(operator_policy(values, policy), recorder.calls)
    written: dict[tuple[str, str], bytes] = {}
    for call in recorder.calls:
        if call.operation == "PutObject":
            written[call.params["Bucket"], call.params["Key"]] = call.params["Body"]
        if call.operation == "CreateTransformJob":
            # The job reads the manifest the CLI wrote just before starting it.
            source = call.params["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
            manifest = json.loads(written[sagemaker_jobs.split_s3_uri(source)])
            work = sagemaker_jobs.transform_job(call.params, manifest=manifest, region=call.region)
            assert_allowed(_transform_role(values), work)


def _transform_role(values: Mapping[str, str]) -> RolePolicy:
    names = {
        "Buckets/Artifacts": values.get(stack_outputs.ARTIFACTS_BUCKET_NAME, ""),
        "Buckets/Ingest": values.get(stack_outputs.INGEST_BUCKET_NAME, ""),
        "Buckets/Dataset": values.get(stack_outputs.DATASET_BUCKET_NAME, ""),
    }
    return Deployment(templates(), {path: name for path, name in names.items() if name}).role_policy(
        "TransformRole/Role"
    )
