"""Who may import whom: the contracts stand alone, and each part reaches another only through its contract."""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def imported_modules(folder: Path) -> dict[str, set[str]]:
    """file (relative to the repository) -> absolute module names it imports (relative imports resolved)."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(REPO_ROOT)
        package = list(relative.with_suffix("").parts[:-1])
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                names.add(module)
        found[str(relative)] = names
    return found


def offending(folder: str, allowed: Callable[[str], bool]) -> list[str]:
    return [
        f"{path} imports {name}"
        for path, names in imported_modules(REPO_ROOT / folder).items()
        for name in sorted(names)
        if not allowed(name)
    ]


def test_contracts_import_only_the_standard_library_and_each_other() -> None:
    def allowed(name: str) -> bool:
        top = name.split(".")[0]
        return top == "contracts" or top == "__future__" or top in sys.stdlib_module_names

    assert offending("contracts", allowed) == []


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        # The CLI reads the stacks' outputs and settings from contracts/, never the stacks themselves.
        ("binventory", ("stacks",)),
        # The stacks deploy what contracts/ says; the model code and the Lambda are assets to them.
        ("stacks", ("countnet", "lambdas", "binventory")),
        ("lambdas", ("stacks", "binventory", "countnet")),
        ("model_code", ("stacks", "binventory", "lambdas")),
    ],
)
def test_parts_do_not_import_each_other_s_internals(folder: str, forbidden: tuple[str, ...]) -> None:
    assert offending(folder, lambda name: name.split(".")[0] not in forbidden) == []


LAMBDA_APIS = ("lambdas.counter.api", "lambdas.review.api")


def test_the_cli_reaches_the_lambdas_only_through_their_public_apis() -> None:
    def allowed(name: str) -> bool:
        return not name.startswith("lambdas") or name in LAMBDA_APIS

    assert offending("binventory", allowed) == []


@pytest.mark.parametrize(("folder", "other"), [("lambdas/counter", "review"), ("lambdas/review", "counter")])
def test_each_lambda_stands_alone_in_its_asset(folder: str, other: str) -> None:
    """A Lambda's asset holds its own package and contracts/ only, so it imports no other Lambda."""
    assert offending(folder, lambda name: not name.startswith((f"lambdas.{other}", other))) == []


def test_every_contract_module_says_what_it_is_for() -> None:
    for path in sorted((REPO_ROOT / "contracts").glob("*.py")):
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert docstring and docstring.splitlines()[0].strip(), f"{path.name} has no first docstring line"
