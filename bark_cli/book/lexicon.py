"""A pronunciation lexicon: spellings that Bark says right, applied to a chapter's text before it is cut
into segments (so a changed entry changes only the segments whose text it touches, and only those are
generated again).

The file is TOML, one entry a line, applied in file order:

    "Nguyen" = "Win"                # a word: matches whole words, in any case
    "/\\\\bSQL\\\\b/" = "sequel"       # /a regular expression/ (Python's), case-sensitive; \\1 refers to a group

A word entry keeps the case of what it replaces: a match in capitals ("NGUYEN") gets the replacement in
capitals ("WIN"), a capitalised one ("Nguyen") gets it capitalised, any other gets it as written.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidOptionError


@dataclass(frozen=True)
class Entry:
    pattern: re.Pattern
    replacement: str
    word: bool  # a word entry (case kept), not a regular expression


def _cased(match: str, replacement: str) -> str:
    if len(match) > 1 and match.isupper():
        return replacement.upper()
    if match[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


@dataclass(frozen=True)
class Lexicon:
    entries: tuple[Entry, ...] = ()

    def apply(self, text: str) -> str:
        for entry in self.entries:
            if entry.word:
                text = entry.pattern.sub(lambda m, e=entry: _cased(m.group(), e.replacement), text)
            else:
                text = entry.pattern.sub(entry.replacement, text)
        return text


def parse_lexicon(source: str, where: str) -> Lexicon:
    """The lexicon in TOML ``source``; InvalidOptionError naming ``where`` and the bad entry."""
    try:
        table = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidOptionError(f"--lexicon {where}: not valid TOML ({exc})") from None
    entries = []
    for key, value in table.items():
        if not isinstance(value, str):
            raise InvalidOptionError(f"--lexicon {where}: {key!r} must map to a string, got {type(value).__name__}")
        if len(key) > 2 and key.startswith("/") and key.endswith("/"):
            try:
                pattern = re.compile(key[1:-1])
                pattern.sub(value, "")  # a bad group reference in the replacement fails here, not mid-book
            except re.error as exc:
                raise InvalidOptionError(f"--lexicon {where}: bad regular expression {key!r} ({exc})") from None
            entries.append(Entry(pattern, value, word=False))
        elif key.strip():
            # Whole words: no word character just before or after (works for "C++" and "Dr." too).
            pattern = re.compile(rf"(?<!\w){re.escape(key.strip())}(?!\w)", re.IGNORECASE)
            entries.append(Entry(pattern, value, word=True))
        else:
            raise InvalidOptionError(f"--lexicon {where}: an empty entry")
    return Lexicon(tuple(entries))


def load_lexicon(path: Path | None) -> Lexicon:
    if path is None:
        return Lexicon()
    try:
        source = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InvalidOptionError(f"--lexicon {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InvalidOptionError(f"--lexicon {path}: not UTF-8 text") from None
    return parse_lexicon(source, str(path))
