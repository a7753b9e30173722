"""A book as bark reads it: metadata, a cover, and chapters of plain text; and which chapters to render."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BookInputError, InvalidOptionError
from ..text.normalize import estimate_seconds, normalize

EPUB_SUFFIXES = (".epub",)
MARKDOWN_SUFFIXES = (".md", ".markdown")


@dataclass(frozen=True)
class Chapter:
    number: int  # 1-based, among the chapters with text (what --list shows and --chapters takes)
    title: str
    text: str  # paragraphs separated by blank lines; the title is spoken as the first one

    @property
    def words(self) -> int:
        return len(self.text.split())

    @property
    def seconds(self) -> float:
        """Estimated speech (text/normalize.py's rate)."""
        return estimate_seconds(self.text)


@dataclass(frozen=True)
class Cover:
    data: bytes
    media_type: str  # image/jpeg or image/png


@dataclass(frozen=True)
class Book:
    path: Path
    title: str
    author: str | None
    language: str | None  # ISO 639-1 when known ("en")
    chapters: list[Chapter]
    cover: Cover | None = None
    skipped: list[str] = field(default_factory=list)  # titles of chapters left out: no text


def numbered(source: Path, parts: list[tuple[str, str | None, str]]) -> tuple[list[Chapter], list[str]]:
    """Chapters from (title, heading, body) parts in order, the heading (if any) spoken before the body:
    parts whose body has no text are left out (their titles are returned, to report), the others
    numbered from 1. BookInputError when none has text."""
    chapters, skipped = [], []
    for title, heading, body in parts:
        if normalize(body):
            text = body.strip() if heading is None else sentence(heading) + "\n\n" + body.strip()
            chapters.append(Chapter(len(chapters) + 1, title, text))
        else:
            skipped.append(title)
    if not chapters:
        raise BookInputError(f"{source}: no chapter has any text to speak")
    return chapters, skipped


def read_book(path: Path) -> Book:
    """The book at ``path``: EPUB by its suffix, Markdown (.md, .markdown), anything else plain text."""
    if not path.is_file():
        raise BookInputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in EPUB_SUFFIXES:
        from .epub import read_epub

        return read_epub(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BookInputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise BookInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if suffix in MARKDOWN_SUFFIXES:
        from .markdown import read_markdown

        return read_markdown(path, text)
    from .plaintext import read_text

    return read_text(path, text)


def select(chapters: list[Chapter], selection: str | None) -> list[Chapter]:
    """The chapters named by ``selection`` ("3-5,8"; None: all), in book order."""
    if selection is None:
        return chapters
    wanted: set[int] = set()
    for part in selection.split(","):
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if first > last:
            raise InvalidOptionError(f"--chapters {part.strip()}: a range goes from low to high")
        if first < 1 or last > len(chapters):
            raise InvalidOptionError(f"--chapters {part.strip()}: the book has chapters 1 to {len(chapters)}")
        wanted.update(range(first, last + 1))
    return [c for c in chapters if c.number in wanted]


def sentence(title: str) -> str:
    """A heading as a spoken sentence: it gets a full stop unless it ends with punctuation already."""
    title = " ".join(title.split())
    return title if not title or re.search(r"[.!?:;…]$", title) else title + "."
