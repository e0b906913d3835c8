"""The `binventory` command: one entry point whose command groups live beside the code they drive."""

from __future__ import annotations

import click

from binventory import resources
from binventory.backfill.commands import count
from binventory.costs import costs
from binventory.data.commands import data
from binventory.inventory import inventory_group
from binventory.local.cli import local_group
from binventory.models.commands import model
from binventory.review.commands import review_group
from binventory.status import status
from binventory.training_jobs.commands import train


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--stage",
    envvar="BINVENTORY_STAGE",
    default=None,
    help="Deployment stage whose stacks to use (default: cdk.json's stage).",
)
@click.option("--region", envvar="AWS_REGION", default=None, help="AWS region of the stacks.")
@click.pass_context
def cli(ctx: click.Context, stage: str | None, region: str | None) -> None:
    """Count items in warehouse bin photos and reconcile them against expected inventory."""
    ctx.obj = resources.StackResources(stage=stage, region=region)


cli.add_command(data)
cli.add_command(local_group)
cli.add_command(train)
cli.add_command(model)
cli.add_command(count)
cli.add_command(costs)
cli.add_command(status)
cli.add_command(inventory_group)
cli.add_command(review_group)


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    main()
