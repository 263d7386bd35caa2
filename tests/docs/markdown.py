"""The code examples of README.md and docs/*.md, as the tests read them.

A fenced block may be preceded (on the line just before its fence) by a directive:
`<!-- not-run: why -->` (the tests do not run it) or `<!-- run-with: what -->` (it needs
`agentops 0.3.26` or `a new virtual environment`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO_ROOT

DIRECTIVE = re.compile(r"<!-- (not-run|run-with): (.+?) -->")
FENCE = re.compile(r"^```(\w*)\s*$")
RUNNABLE = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python"}


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    directive: tuple[str, str] | None

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(REPO_ROOT)}:{self.line}"


def documents() -> list[Path]:
    """README.md and the hand-written docs (docs/cli.md is generated from --help)."""
    docs = sorted(p for p in (REPO_ROOT / "docs").glob("*.md") if p.name != "cli.md")
    return [REPO_ROOT / "README.md", *docs]


def blocks(path: Path) -> Iterator[Block]:
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        found = DIRECTIVE.fullmatch(lines[i - 1].strip()) if i else None
        directive = (found.group(1), found.group(2)) if found else None
        code = "\n".join(lines[i + 1 : end]) + "\n"
        yield Block(path, i + 1, opened.group(1), code, directive)
        i = end + 1


def examples() -> list[Block]:
    """Every shell and Python block of every document."""
    return [b for p in documents() for b in blocks(p) if b.language in RUNNABLE]


def code_lines(path: Path) -> Iterator[str]:
    """Text set as code: fenced lines, indented lines and inline `spans`."""
    in_fence = False
    for line in path.read_text().splitlines():
        if FENCE.match(line) or line.strip() == "```":
            in_fence = not in_fence
            continue
        if in_fence or line.startswith("    "):
            yield line
        else:
            yield from re.findall(r"`([^`]+)`", line)
