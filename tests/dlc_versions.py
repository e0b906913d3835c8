"""The PyTorch DLC's own package versions (requirements-dlc.txt), and what a toolkit venv imports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DLC_REQUIREMENTS = REPO_ROOT / "requirements-dlc.txt"
# The import name that reports each pinned distribution's version.
_MODULES = {"torch": "torch", "torchvision": "torchvision", "numpy": "numpy", "pillow": "PIL"}


def dlc_pins() -> dict[str, str]:
    """Distribution -> the version the DLC runs, from requirements-dlc.txt."""
    return dict(re.findall(r"^([a-z]+)==([\w.]+)$", DLC_REQUIREMENTS.read_text(), re.M))


def imported_versions(python: Path) -> dict[str, str]:
    """Distribution -> the version `python` imports (a local build tag such as +cu124 dropped)."""
    code = "; ".join(f"import {module}" for module in _MODULES.values())
    code += "; print(" + ", ".join(f"{module}.__version__" for module in _MODULES.values()) + ")"
    output = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout
    return {name: version.split("+", 1)[0] for name, version in zip(_MODULES, output.split(), strict=True)}
