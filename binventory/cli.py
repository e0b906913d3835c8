"""The `binventory` command: one entry point whose command groups live beside the code they drive."""

from __future__ import annotations

import click

from binventory import resources
from binventory.backfill.commands import count
from binventory.costs import costs
from binventory.data.commands import data
from binventory.inventory import inventory_group
from binventory.local.cli import local_group
from binventory.local_meaning import NO_LOCAL_MEANING, refuse_locally
from binventory.models.commands import model
from binventory.queue import queue_group
from binventory.review.commands import review_group
from binventory.status import status
from binventory.training_jobs.commands import train

STAGE_HELP = "Deployment stage whose stacks to use (default: cdk.json's stage)."
REGION_HELP = "AWS region of the stacks (default: AWS_REGION, AWS_DEFAULT_REGION, then cdk.json's region)."


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--stage",
    envvar="BINVENTORY_STAGE",
    default=None,
    help=STAGE_HELP,
)
@click.option("--region", default=None, help=REGION_HELP)
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
cli.add_command(queue_group)


def _set_on_resources(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """A subcommand's --stage/--region overrides the one given before the group (the nearest wins)."""
    if value is not None:
        resources_of = ctx.find_object(resources.StackResources)
        if resources_of is not None:
            setattr(resources_of, str(param.name), value)


def accept_stage_and_region_everywhere(group: click.Group) -> None:
    """Every command takes --stage and --region after its name too: `binventory inventory bins --region X`."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            accept_stage_and_region_everywhere(command)
            continue
        taken = {option for param in command.params for option in getattr(param, "opts", [])}
        for name, text in (("stage", STAGE_HELP), ("region", REGION_HELP)):
            if f"--{name}" not in taken:
                command.params.append(
                    click.Option(
                        [f"--{name}"], default=None, expose_value=False, callback=_set_on_resources, help=text
                    )
                )


accept_stage_and_region_everywhere(cli)
for _name in NO_LOCAL_MEANING:
    refuse_locally(cli.commands[_name], _name, allowed=(lambda params: params.get("per_million", False)))


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    main()
