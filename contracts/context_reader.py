"""A validating reader for nested configuration mappings, and the `-c` override rules of the CDK context.

Every error names the full dotted key (`binventory.endpoint.mode`) and what the key accepts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message names the key and what it accepts."""


class Section:
    """Reads one mapping of the context, naming each key by its full dotted path in errors."""

    def __init__(self, values: Any, path: str) -> None:
        if not isinstance(values, Mapping):
            raise SettingsError(f"{path}: expected an object of settings, got {values!r}.")
        self.values = values
        self.path = path
        self._read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}"

    def raw(self, name: str, expected: str, *, optional: bool = False) -> Any:
        self._read.add(name)
        value = self.values.get(name)
        if value is None and not optional:
            raise SettingsError(f"{self.key(name)}: missing; expected {expected}. Set it in cdk.json.")
        return value

    def section(self, name: str) -> Section:
        return Section(self.raw(name, "an object of settings"), self.key(name))

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        options = ", ".join(repr(option) for option in allowed)
        value = self.raw(name, f"one of {options}")
        if value not in allowed:
            raise SettingsError(f"{self.key(name)}: got {value!r}; allowed values: {options}.")
        return str(value)

    def pattern(
        self, name: str, regex: re.Pattern[str], expected: str, *, optional: bool = False
    ) -> str | None:
        value = self.raw(name, expected, optional=optional)
        if value is None:
            return None
        if not isinstance(value, str) or not regex.match(value):
            raise SettingsError(f"{self.key(name)}: got {value!r}; expected {expected}.")
        return value

    def required_pattern(self, name: str, regex: re.Pattern[str], expected: str) -> str:
        value = self.pattern(name, regex, expected)
        assert value is not None
        return value

    def boolean(self, name: str) -> bool:
        value = self.raw(name, "true or false")
        if not isinstance(value, bool):
            raise SettingsError(f"{self.key(name)}: got {value!r}; allowed values: true, false.")
        return value

    def integer(self, name: str, low: int, high: int) -> int:
        expected = f"a whole number from {low} to {high}"
        value = self.raw(name, expected)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SettingsError(f"{self.key(name)}: got {value!r}; expected {expected}.")
        return value

    def integer_in(self, name: str, allowed: tuple[int, ...]) -> int:
        options = ", ".join(str(option) for option in allowed)
        value = self.raw(name, f"one of {options}")
        if isinstance(value, bool) or value not in allowed:
            raise SettingsError(f"{self.key(name)}: got {value!r}; allowed values: {options}.")
        return int(value)

    def number(self, name: str, low: float, high: float) -> float:
        expected = f"a number from {low} to {high}"
        value = self.raw(name, expected)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise SettingsError(f"{self.key(name)}: got {value!r}; expected {expected}.")
        return float(value)

    def optional_number(self, name: str, low: float, high: float) -> float | None:
        """A number in range, or null / absent for "not set"."""
        if self.raw(name, "a number", optional=True) is None:
            return None
        return self.number(name, low, high)

    def reject_unknown(self) -> None:
        """Fail on keys nobody reads: a typo would otherwise be silently ignored."""
        unknown = sorted(set(self.values) - self._read)
        if unknown:
            raise SettingsError(
                f"{self.key(unknown[0])}: unknown setting; the keys of {self.path} are: "
                f"{', '.join(sorted(self._read))}."
            )


def read_section[T](section: Section, build: Callable[[Section], T]) -> T:
    """Build a settings object from `section`, then reject keys the builder did not read."""
    value = build(section)
    section.reject_unknown()
    return value


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `override`'s values on top, merging nested objects key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def command_line_value(value: Any) -> Any:
    """`-c` values arrive as strings: `"5"` -> 5, `"true"` -> True, `"null"` -> None, `"realtime"` stays."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def apply_dotted_overrides(
    config: dict[str, Any], context: Mapping[str, Any], root_key: str
) -> dict[str, Any]:
    """Apply `-c binventory.endpoint.mode=realtime` style overrides to the nested settings.

    Where the setting already holds a string, the `-c` text is that string as typed: `-c
    binventory.training.framework_version=2.6` means "2.6", as in cdk.json, not the number 2.6.
    """
    for dotted, value in sorted(context.items()):
        if not dotted.startswith(root_key + "."):
            continue
        *parents, leaf = dotted.split(".")[1:]
        target = config
        for part in parents:
            child = target.get(part)
            if not isinstance(child, dict):
                raise SettingsError(
                    f"{dotted}: {part!r} is not a settings section; check the key's spelling."
                )
            target = child
        keeps_text = isinstance(target.get(leaf), str) and isinstance(value, str)
        target[leaf] = value if keeps_text else command_line_value(value)
    return config
