"""Click groups and commands whose AWS failures reach the operator as one-line messages, not tracebacks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

NO_CREDENTIALS_MESSAGE = (
    "No AWS credentials found: configure a profile (aws configure) or export AWS_PROFILE."
)


@contextmanager
def aws_errors_as_messages() -> Iterator[None]:
    """Turn the AWS errors an operator can cause (credentials, names, permissions) into ClickExceptions."""
    try:
        yield
    except NoCredentialsError as error:
        raise click.ClickException(NO_CREDENTIALS_MESSAGE) from error
    except EndpointConnectionError as error:
        raise click.ClickException(
            f"Could not reach AWS ({error}); check the network and --region."
        ) from error
    except ClientError as error:
        details = error.response.get("Error", {})
        raise click.ClickException(
            f"{error.operation_name} failed: {details.get('Code', 'error')}: "
            f"{details.get('Message', str(error))}"
        ) from error


class AwsCommandGroup(click.Group):
    """A group whose subcommands report AWS errors as messages."""

    def invoke(self, ctx: click.Context) -> Any:
        with aws_errors_as_messages():
            return super().invoke(ctx)


class AwsCommand(click.Command):
    """A single command that reports AWS errors as messages."""

    def invoke(self, ctx: click.Context) -> Any:
        with aws_errors_as_messages():
            return super().invoke(ctx)
