"""Reading books (no rendering): EPUB, Markdown and plain text into chapters; bad books refused with one
line and exit 9; the lexicon's rules; the `book` extra missing (exit 10)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bark_cli.book.chapters import read_book
from bark_cli.cli.app import app
from bark_cli.errors import BookInputError, InvalidOptionError
from book_inputs import CHAPTERS, build_epub, drm_epub

runner = CliRunner()


def listed(path: Path, *args: str):
    return runner.invoke(app, ["book", str(path), "--list", *args])


@pytest.mark.parametrize(
    "make, message",
    [
        (drm_epub, "DRM-protected"),
        (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip") and p, "not an EPUB"),
        (lambda p: build_epub(p, chapters=[("Blank", []), ("Also blank", [])]), "no chapter has any text"),
    ],
    ids=["drm", "malformed", "empty"],
)
def test_bad_books_exit_9_with_one_line_naming_the_file(make, message, tmp_path):
    path = tmp_path / "bad.epub"
    make(path)
    result = listed(path)
    assert result.exit_code == 9, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("bark: error: ")
    assert str(path) in result.output and message in result.output


def test_a_missing_book_and_text_that_is_not_utf8_exit_9(tmp_path):
    assert listed(tmp_path / "nothing.epub").exit_code == 9
    (tmp_path / "latin1.txt").write_bytes("Chapter 1\ncaf\xe9\n".encode("latin-1"))
    result = listed(tmp_path / "latin1.txt")
    assert result.exit_code == 9 and "not UTF-8" in result.output


def test_an_epub_without_navigation_falls_back_to_the_spine(tmp_path):
    book = read_book(build_epub(tmp_path / "b.epub", toc=False, cover=False))
    assert [c.title for c in book.chapters] == [t for t, _ in CHAPTERS]  # titled by their headings
    assert book.cover is None


def test_chapters_without_text_are_skipped_and_reported(tmp_path):
    chapters = [CHAPTERS[0], ("Interlude", []), CHAPTERS[1]]
    path = build_epub(tmp_path / "b.epub", chapters=chapters, nested=False)
    book = read_book(path)
    assert [c.number for c in book.chapters] == [1, 2] and book.skipped == ["Interlude"]
    result = listed(path)
    assert result.exit_code == 0 and "'Interlude' has no text: left out" in result.output


def test_markdown_headings_start_chapters(tmp_path):
    path = tmp_path / "book.md"
    path.write_text(
        "Before any heading.\n\n# One\n\nSome *bold* [link](http://x) text.\n\n- a list item\n\n```\ncode()\n```\n\n"
        "## Two\n\n### Not a chapter\n\nMore text[^1].\n\n[^1]: A footnote.\n\n## Empty\n",
        encoding="utf-8",
    )
    book = read_book(path)
    assert [(c.number, c.title) for c in book.chapters] == [(1, "book"), (2, "One"), (3, "Two")]
    assert book.chapters[1].text == "One.\n\nSome bold link text.\n\na list item"
    assert book.chapters[2].text == "Two.\n\nNot a chapter.\n\nMore text."
    assert book.skipped == ["Empty"] and book.title == "One"


def test_plain_text_chapter_lines_and_form_feeds_start_chapters(tmp_path):
    path = tmp_path / "book.txt"
    path.write_text("Chapter 1\nIt was dark.\n\nCHAPTER II: The Storm\nRain.\fA new part, after a form feed.\n", encoding="utf-8")
    book = read_book(path)
    assert [c.title for c in book.chapters] == ["Chapter 1", "CHAPTER II: The Storm", "Chapter 3"]
    assert book.chapters[1].text == "CHAPTER II: The Storm.\n\nRain."
    assert book.chapters[2].text == "A new part, after a form feed."


def test_the_lexicon_matches_whole_words_and_keeps_their_case():
    from bark_cli.book.lexicon import parse_lexicon

    lexicon = parse_lexicon('"Nguyen" = "Win"\n"/\\\\bSQL\\\\b/" = "sequel"\n"Dr." = "Doctor"\n', "test")
    text = "Nguyen met NGUYEN and nguyen, not Nguyens. SQL, MySQL. Dr. Who"
    assert lexicon.apply(text) == "Win met WIN and Win, not Nguyens. sequel, MySQL. Doctor Who"
    with pytest.raises(InvalidOptionError, match="bad regular expression"):
        parse_lexicon('"/(/" = "x"\n', "test")
    with pytest.raises(InvalidOptionError, match="must map to a string"):
        parse_lexicon('"a" = 1\n', "test")


def test_chapter_selection():
    from bark_cli.book.chapters import Chapter, select

    chapters = [Chapter(n, f"c{n}", "text") for n in range(1, 10)]
    assert [c.number for c in select(chapters, "3-5, 8")] == [3, 4, 5, 8]
    assert select(chapters, None) == chapters
    with pytest.raises(InvalidOptionError):
        select(chapters, "5-3")


def test_without_the_book_extra_the_error_names_the_install_command(tmp_path, monkeypatch):
    path = build_epub(tmp_path / "b.epub")
    monkeypatch.setitem(sys.modules, "ebooklib", None)  # what an uninstalled package looks like to import
    result = listed(path)
    assert result.exit_code == 10
    assert "pip install 'bark-cli[book]'" in result.output


def test_read_book_raises_book_input_error_for_unknown_bytes(tmp_path):
    path = tmp_path / "b.epub"
    path.write_bytes(b"")
    with pytest.raises(BookInputError):
        read_book(path)
