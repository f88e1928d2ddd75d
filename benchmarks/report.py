"""Benchmark results into ``docs/benchmarks.md``: each script owns one section and rewrites it per run.

A section sits between ``<!-- benchmark:NAME -->`` and ``<!-- /benchmark:NAME -->`` and holds the
command as typed, the date, the machine and the table the script printed. Sections of other scripts
are left as they are; a missing one is appended.
"""

import datetime
import os
import platform
import re
import sys
from pathlib import Path

import torch

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


class Table:
    """Lines printed to stdout and kept for the report."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def print(self, line: str = "") -> None:
        """Print ``line`` and keep it."""
        print(line)
        self.lines.append(line)


def machine() -> str:
    """One line: CPU count, processor, GPU if any, torch version."""
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"
    cpu = platform.processor() or platform.machine()
    python = platform.python_version()
    return f"{os.cpu_count()} CPU cores ({cpu}){gpu}, torch {torch.__version__}, Python {python}"


def write_section(name: str, lines: list[str], path: Path = DOCS) -> None:
    """Replace section ``name`` of ``path`` with the command line, date, machine and ``lines``.

    Args:
        name: The section's name (one per script).
        lines: The table as printed.
        path: The Markdown file.
    """
    command = "python " + " ".join(["benchmarks/" + Path(sys.argv[0]).name, *sys.argv[1:]])
    today = datetime.date.today().isoformat()
    body = "\n".join(
        [
            f"<!-- benchmark:{name} -->",
            f"`{command}`, {today}, {machine()}:",
            "",
            "```",
            *lines,
            "```",
            f"<!-- /benchmark:{name} -->",
        ]
    )
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(
        rf"<!-- benchmark:{re.escape(name)} -->.*?<!-- /benchmark:{re.escape(name)} -->", re.S
    )
    text = pattern.sub(lambda _: body, text) if pattern.search(text) else text.rstrip() + "\n\n" + body + "\n"
    path.write_text(text)
    print(f"(written to {path.relative_to(path.parents[1])}, section {name})", file=sys.stderr)
