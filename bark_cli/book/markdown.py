"""Markdown books: each `#` or `##` heading starts a chapter, titled by it; the markup is dropped."""

from __future__ import annotations

import re
from pathlib import Path

from .chapters import Book, numbered, sentence

CHAPTER_HEADING = re.compile(r"^ {0,3}(#{1,2})[ \t]+(.+?)[ \t#]*$")  # ATX `#` and `##`; deeper ones stay text
FENCE = re.compile(r"^ {0,3}(```|~~~)")
_INLINE = [
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links: their text
    (re.compile(r"\[\^[^\]]*\]"), ""),  # footnote references
    (re.compile(r"<[^>]+>"), ""),  # inline HTML
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # emphasis
]
_LINE = re.compile(r"^ {0,3}(#{3,6}[ \t]+|>[ \t]?|[-*+][ \t]+|\d+[.)][ \t]+)")  # deeper headings, quotes, lists
_RULE = re.compile(r"^ {0,3}([-*_][ \t]*){3,}$")
_FOOTNOTE = re.compile(r"^ {0,3}\[\^[^\]]+\]:")


def plain(markdown: str) -> str:
    """Markdown as text to speak: paragraphs kept apart by blank lines; code blocks, rules, footnote
    definitions and markup left out; list items and deeper headings as paragraphs of their own."""
    paragraphs, current, fenced = [], [], False
    for line in markdown.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced or _RULE.match(line) or _FOOTNOTE.match(line):
            continue
        marker = _LINE.match(line)
        if not line.strip() or (marker and not marker.group(1).startswith(">")):
            if current:
                paragraphs.append(" ".join(current))
            current = []
        text = line[marker.end() :] if marker else line
        for pattern, replacement in _INLINE:
            text = pattern.sub(replacement, text)
        if text.strip():
            current.append(text.strip())
        if marker and marker.group(1).startswith("#"):
            paragraphs.append(sentence(" ".join(current)))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(p for p in paragraphs if p)


def read_markdown(path: Path, text: str) -> Book:
    parts: list[tuple[str, list[str]]] = [("", [])]  # (title, lines); the first is what precedes any heading
    fenced = False
    for line in text.splitlines():
        fenced ^= bool(FENCE.match(line))
        match = None if fenced else CHAPTER_HEADING.match(line)
        if match:
            parts.append((plain(match.group(2)), []))
        else:
            parts[-1][1].append(line)
    chapters = [(title, title, plain("\n".join(lines))) for title, lines in parts]
    if not chapters[0][2].strip():
        chapters = chapters[1:]  # nothing before the first heading
    else:
        chapters[0] = (path.stem, None, chapters[0][2])
    first_heading = next((title for title, _ in parts[1:]), None)
    chapter_list, skipped = numbered(path, chapters)
    return Book(path, first_heading or path.stem, None, None, chapter_list, skipped=skipped)
