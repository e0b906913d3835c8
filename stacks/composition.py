"""Compose the three stacks of one stage into a CDK app, with cdk-nag checking all of them."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk

from contracts import stack_outputs
from contracts.deployment_settings import Settings
from stacks import nag
from stacks.counting.stack import CountingStack
from stacks.storage.stack import StorageStack
from stacks.training_pipeline.stack import TrainingStack


@dataclass(frozen=True)
class BinventoryStacks:
    """The stacks of one stage, for tests and for app.py."""

    storage: StorageStack
    training: TrainingStack
    counting: CountingStack


def build_stacks(app: cdk.App, settings: Settings, *, account: str | None = None) -> BinventoryStacks:
    """Add storage, training and counting stacks for `settings.stage` to `app`.

    `account` fills in when the settings name none (app.py passes CDK_DEFAULT_ACCOUNT); with
    neither, the stacks are account-agnostic and synthesize offline.
    """
    env = cdk.Environment(account=settings.account or account, region=settings.region)
    storage = StorageStack(
        app, stack_outputs.stack_name(settings.stage, "storage"), settings=settings, env=env
    )
    training = TrainingStack(
        app,
        stack_outputs.stack_name(settings.stage, "training"),
        settings=settings,
        buckets=storage.buckets,
        env=env,
    )
    counting = CountingStack(
        app,
        stack_outputs.stack_name(settings.stage, "counting"),
        settings=settings,
        buckets=storage.buckets,
        tables=storage.tables,
        serving_role=training.serving_role,
        env=env,
    )
    for stack in (storage, training, counting):
        cdk.Tags.of(stack).add("project", "binventory")
        cdk.Tags.of(stack).add("stage", settings.stage)
    nag.enable_checks(app)
    return BinventoryStacks(storage=storage, training=training, counting=counting)
