"""The `binventory` command: one entry point whose command groups live beside the code they drive."""

from __future__ import annotations

import click

from binventory import resources


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--stage", envvar="BINVENTORY_STAGE", default=None,
              help="Deployment stage whose stacks to use (default: cdk.json's stage).")
@click.option("--region", envvar="AWS_REGION", default=None, help="AWS region of the stacks.")
@click.pass_context
def cli(ctx: click.Context, stage: str | None, region: str | None) -> None:
    """Count items in warehouse bin photos and reconcile them against expected inventory."""
    ctx.obj = resources.StackResources(stage=stage, region=region)


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    main()
