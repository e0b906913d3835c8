"""Find the deployed resources (tables, buckets, state machine, endpoint) the CLI commands act on.

A name comes from an environment variable when one is set (the local pipeline sets them all),
otherwise from the CloudFormation outputs of the stage's stacks. Every failure says what to do.
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
import click
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from contracts import stack_outputs

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Environment variable that overrides each output, e.g. BINVENTORY_INVENTORY_TABLE_NAME.
ENV_PREFIX = "BINVENTORY_"


def env_var_for(output_id: str) -> str:
    """`InventoryTableName` -> `BINVENTORY_INVENTORY_TABLE_NAME`."""
    snake = "".join("_" + c if c.isupper() else c for c in output_id).lstrip("_").upper()
    return ENV_PREFIX + snake


def _cdk_settings() -> dict[str, Any]:
    try:
        return dict(json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"].get("binventory", {}))
    except (OSError, KeyError, ValueError, AttributeError):
        return {}


def default_stage() -> str:
    """The stage cdk.json deploys by default."""
    return str(_cdk_settings().get("stage", "dev"))


def default_region() -> str | None:
    """The region to use when none is given: AWS_REGION, AWS_DEFAULT_REGION, then the one cdk.json deploys to.

    cdk.json comes before a profile's region: the stacks live where cdk.json deploys them.
    """
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(variable):
            return os.environ[variable]
    region = _cdk_settings().get("region")
    return str(region) if region else None


class StackResources:
    """Lazily resolved names of one stage's resources, shared by every CLI command."""

    def __init__(self, stage: str | None = None, region: str | None = None) -> None:
        self.stage = stage or default_stage()
        self.region = region or default_region()
        self._outputs: dict[str, dict[str, str]] = {}

    def session(self) -> boto3.session.Session:
        """A boto3 session for the chosen region (endpoint URLs come from AWS_ENDPOINT_URL_*)."""
        return boto3.session.Session(region_name=self.region) if self.region else boto3.session.Session()

    def client(self, service: str) -> Any:
        """A boto3 client; fails with a clear message when no region is configured."""
        try:
            return self.session().client(service)
        except NoRegionError as error:
            raise click.ClickException(
                "No AWS region configured: pass --region, or set AWS_REGION / AWS_DEFAULT_REGION."
            ) from error

    def stack_name(self, stack_kind: str) -> str:
        """`storage` -> `binventory-dev-storage`."""
        return stack_outputs.stack_name(self.stage, stack_kind)

    def output(self, stack_kind: str, output_id: str) -> str:
        """The value of one stack output, or its environment override."""
        override = os.environ.get(env_var_for(output_id))
        if override:
            return override
        values = self._stack_outputs(stack_kind)
        if output_id not in values:
            raise click.ClickException(
                f"Stack {self.stack_name(stack_kind)} has no output {output_id}: redeploy it with "
                f"`npx cdk deploy {self.stack_name(stack_kind)}`, or set {env_var_for(output_id)}."
            )
        return values[output_id]

    def _stack_outputs(self, stack_kind: str) -> dict[str, str]:
        if stack_kind not in self._outputs:
            name = self.stack_name(stack_kind)
            try:
                response = self.client("cloudformation").describe_stacks(StackName=name)
            except NoCredentialsError as error:
                raise click.ClickException(
                    "No AWS credentials found: configure a profile (aws configure) or export AWS_PROFILE."
                ) from error
            except ClientError as error:
                message = error.response.get("Error", {}).get("Message", str(error))
                region = self.client("cloudformation").meta.region_name
                raise click.ClickException(
                    f"Stack {name} not found in region {region} ({message}). Deploy it with "
                    f"`npx cdk deploy --all`, or pass the right --stage / --region."
                ) from error
            except BotoCoreError as error:
                raise click.ClickException(f"Could not reach CloudFormation: {error}") from error
            stack = response["Stacks"][0]
            self._outputs[stack_kind] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return self._outputs[stack_kind]

    @cached_property
    def inventory_table(self) -> str:
        return self.output("storage", stack_outputs.INVENTORY_TABLE_NAME)

    @cached_property
    def bin_state_table(self) -> str:
        return self.output("storage", stack_outputs.BIN_STATE_TABLE_NAME)
