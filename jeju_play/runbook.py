"""Read sections of the incident-response runbook (docs/runbook.md) by their heading."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


@dataclass(frozen=True)
class Section:
    heading: str
    level: int
    body: str


def sections(text: str) -> list[Section]:
    """Every Markdown heading outside code fences, with the text up to the next heading of its level or above."""
    lines = text.splitlines()
    found: list[tuple[int, int, str]] = []  # (line index, level, heading)
    in_fence = False
    for index, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        match = None if in_fence else _HEADING.match(line)
        if match:
            found.append((index, len(match.group(1)), match.group(2)))
    result = []
    for position, (index, level, heading) in enumerate(found):
        end = len(lines)
        for later_index, later_level, _ in found[position + 1 :]:
            if later_level <= level:
                end = later_index
                break
        body = "\n".join(lines[index + 1 : end]).strip()
        result.append(Section(heading, level, body.removesuffix("---").strip()))
    return result


def find_section(path: Path, heading: str) -> Section | None:
    for section in sections(path.read_text(encoding="utf-8")):
        if section.heading == heading:
            return section
    return None
