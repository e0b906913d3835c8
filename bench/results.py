"""Write one benchmark's section of bench/RESULTS.md, leaving every other section as it is.

Each section sits between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`. A benchmark replaces its
own section (or appends it the first time); the file is locked while it is rewritten so two
benchmarks finishing together cannot lose each other's figures.
"""

from __future__ import annotations

import fcntl
import os
import platform
import re
from pathlib import Path

RESULTS_FILE = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = (
    "# Benchmark results\n\n"
    "Written by the scripts in bench/ (each owns one section between HTML comment markers);\n"
    "re-run a script to refresh its section. Figures are from the machine named in each section.\n"
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def replace_section(document: str, name: str, markdown: str) -> str:
    """`document` with section `name` set to `markdown` (appended when the section is new)."""
    if not _NAME.match(name):
        raise ValueError(f"section name {name!r} must be lower-case letters, digits and dashes")
    start, end = _markers(name)
    block = f"{start}\n{markdown.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(document):
        return pattern.sub(lambda _match: block, document, count=1)
    return document.rstrip("\n") + "\n\n" + block + "\n"


def write_section(name: str, markdown: str, path: Path = RESULTS_FILE) -> None:
    """Replace (or add) section `name` of bench/RESULTS.md with `markdown`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        document = handle.read() or HEADER
        updated = replace_section(document, name, markdown)
        handle.seek(0)
        handle.truncate()
        handle.write(updated)


def machine_description() -> str:
    """CPU model and core count, for the 'hardware' line of a section."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        if names:
            model = names[0]
    return (
        f"{model}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )
