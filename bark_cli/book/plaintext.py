"""Plain-text books: a `Chapter N` style line, or a form feed, starts a chapter."""

from __future__ import annotations

import re
from pathlib import Path

from .chapters import Book, numbered

# "Chapter 1", "CHAPTER IV: The Storm", "Part Two", "Prologue", "Epilogue." alone on their line.
CHAPTER_LINE = re.compile(
    r"^\s*(?:(?:chapter|part|book)\s+(?:\d+|[ivxlcdm]+|[a-z]+)\b[^\n]{0,80}|(?:prologue|epilogue|introduction|preface)\b[^\n]{0,80})$",
    re.IGNORECASE,
)
MAX_TITLE_CHARS = 80  # a form-feed section's first line is its title only if it is at most this long


def read_text(path: Path, text: str) -> Book:
    parts: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in text.splitlines(keepends=True):
        *before, line = line.split("\f")
        if before:  # a form feed: what precedes it ends the part, a new part starts after it
            parts[-1][1].append(before[0])
            parts.extend((None, [b]) for b in before[1:])
            parts.append((None, []))
        if CHAPTER_LINE.match(line) and len(line.strip()) <= MAX_TITLE_CHARS:
            parts.append((line.strip(), []))
        else:
            parts[-1][1].append(line)
    chapters = []
    for title, lines in parts:
        body = "".join(lines).strip()
        if title is None:
            if not body:
                continue
            first = body.splitlines()[0].strip()
            short = len(first) <= MAX_TITLE_CHARS and not re.search(r"[.!?,;]$", first)
            title = first if short else f"Chapter {len(chapters) + 1}"
            chapters.append((title, None, body))
        else:
            chapters.append((title, title, body))
    chapter_list, skipped = numbered(path, chapters)
    return Book(path, path.stem, None, None, chapter_list, skipped=skipped)
