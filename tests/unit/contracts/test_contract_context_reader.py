"""The CDK context: a setting given with `-c` means what the same value means in cdk.json.

Two parties hand `contracts.context_reader` its values: cdk.json (JSON: `"2.6"` is a string, `5` a number)
and the CDK CLI's `-c binventory.<section>.<key>=<text>`, which arrives as text. The reader turns the text
back into the value; a setting that reads differently from `-c` than from cdk.json would deploy something
other than what the operator typed, or refuse a value cdk.json accepts. Messages naming the key are
checked in test_contract_deployment_settings.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from deployment_context import CDK_CONTEXT, context_with

from contracts.deployment_settings import ROOT_KEY, load_settings, load_settings_from_cdk_json


def settings_in_cdk_json(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every setting under `path`; per-stage overrides are not `-c` keys."""
    if isinstance(value, dict) and value:
        for key, child in value.items():
            if f"{path}.{key}" != f"{ROOT_KEY}.stages":
                yield from settings_in_cdk_json(child, f"{path}.{key}")
    else:
        yield path, value


def as_typed_on_the_command_line(value: Any) -> str:
    """What an operator types after `=`: a string as it is, anything else as JSON (`5`, `true`, `null`)."""
    return value if isinstance(value, str) else json.dumps(value)


SETTINGS = list(settings_in_cdk_json(CDK_CONTEXT[ROOT_KEY], ROOT_KEY))


@pytest.mark.parametrize(("key", "value"), SETTINGS, ids=[key for key, _ in SETTINGS])
def test_a_setting_given_with_c_reads_as_the_same_value_in_cdk_json(key: str, value: Any) -> None:
    # given `npx cdk deploy -c <key>=<the value cdk.json already holds>`
    context = context_with({key: as_typed_on_the_command_line(value)})

    # then the app builds exactly the settings cdk.json alone gives
    assert load_settings(context) == load_settings_from_cdk_json()
