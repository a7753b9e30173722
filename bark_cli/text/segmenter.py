"""Long text -> segments that each fit one Bark generation, without losing or splitting anything that matters.

Sentences come from ``sentencex`` (rule-based, every Bark language, no model download). Short sentences
are merged into segments up to a target speech length; an over-long sentence is split at clause
punctuation, then between words, then between characters (CJK). Cue spans (``[laughs]``, ``♪ ... ♪``) are
never split and a speaker tag (``MAN:``) stays with its sentence. A blank line ends a paragraph: the
segment before it gets a longer pause. Each segment is at most MAX_TEXT_TOKENS tokens of the checkpoint's
own tokenizer; no text is ever dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ..constants import MAX_TEXT_TOKENS
from .normalize import SYLLABIC, estimate_seconds, guess_language, normalize

PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
CUE_SPAN = re.compile(r"\[[^\[\]\n]*\]|♪[^♪]*♪")
SPEAKER_TAG = re.compile(r"\b[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ'-]+:\s*")  # MAN:, WOMAN:, NARRATOR:
CLAUSE_END = re.compile(r"[,;:—–、，；：]+\s*")
WHITESPACE = re.compile(r"\s+")
# sentencex splits after abbreviations it does not know ("M. ", "Т.е. "): such crumbs, and "sentences" that
# start in lower case, join their neighbour.
MAX_CRUMB_LETTERS = 3


@dataclass(frozen=True)
class TextSegment:
    text: str
    tokens: int  # tokens of the checkpoint's tokenizer
    seconds: float  # estimated speech length
    paragraph_end: bool  # a paragraph break follows (longer pause)


def _cue_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in CUE_SPAN.finditer(text)]


def _protected(text: str) -> list[tuple[int, int]]:
    """Spans no cut may fall strictly inside: cue spans, and a speaker tag with the word after it."""
    return _cue_spans(text) + [(m.start(), m.end() + 1) for m in SPEAKER_TAG.finditer(text)]


def _no_spans(text: str) -> list[tuple[int, int]]:
    return []


def _cut(text: str, positions: list[int]) -> list[str]:
    bounds = [0, *sorted(set(p for p in positions if 0 < p < len(text))), len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


def _allowed(positions: list[int], text: str, protected: Callable[[str], list[tuple[int, int]]]) -> list[int]:
    spans = protected(text)
    return [p for p in positions if not any(a < p < b for a, b in spans)]


# Cut positions, coarsest first. Each entry: (positions in text, the spans no cut may fall inside).
def _clause_cuts(text: str) -> list[int]:
    return [m.end() for m in CLAUSE_END.finditer(text)]


def _word_cuts(text: str) -> list[int]:
    return [m.end() for m in WHITESPACE.finditer(text)]


def _char_cuts(text: str) -> list[int]:
    return list(range(1, len(text)))


LEVELS = [
    (_clause_cuts, _protected),
    (_word_cuts, _protected),
    (_char_cuts, _protected),
    # A speaker tag leaves its cue ("MAN: ♪ ... ♪" too long for one segment) before a cue is ever cut.
    (_word_cuts, _cue_spans),
    (_char_cuts, _cue_spans),
    (_word_cuts, _no_spans),
    (_char_cuts, _no_spans),
]


class Splitter:
    def __init__(self, count_tokens: Callable[[str], int], segment_seconds: float):
        self.count_tokens = count_tokens
        self.segment_seconds = segment_seconds

    def fits(self, text: str) -> bool:
        return estimate_seconds(text) <= self.segment_seconds and self.count_tokens(text) <= MAX_TEXT_TOKENS

    def _fit(self, text: str, level: int = 0) -> list[str]:
        """``text`` as pieces that each fit, cut at the coarsest level that offers cuts."""
        if self.fits(text) or level >= len(LEVELS):
            return [text]
        cuts, protected = LEVELS[level]
        positions = _allowed(cuts(text), text, protected)
        if not positions:
            return self._fit(text, level + 1)
        return self._pack(_cut(text, positions), level + 1)

    def _pack(self, parts: list[str], level: int) -> list[str]:
        """Greedily merge consecutive ``parts`` into pieces that fit; refine parts too big on their own."""
        out: list[str] = []
        current = ""
        for part in parts:
            if not self.fits(part):
                if current:
                    out.append(current)
                    current = ""
                out.extend(self._fit(part, level))
            elif not current or self.fits(current + part):
                current += part
            else:
                out.append(current)
                current = part
        if current:
            out.append(current)
        return out

    def sentences(self, paragraph: str, language: str) -> list[str]:
        from sentencex import segment

        raw = [s for s in segment(language, paragraph) if s]
        merged: list[str] = []
        for sentence in raw:
            previous = merged[-1] if merged else None
            if previous is not None and (_open_cue(previous) or _is_crumb(previous) or _starts_lower(sentence)):
                merged[-1] = previous + sentence
            else:
                merged.append(sentence)
        return merged

    def split(self, text: str, language: str) -> list[TextSegment]:
        segments: list[TextSegment] = []
        for paragraph in PARAGRAPH_BREAK.split(text):
            if not normalize(paragraph):  # blank, or only invisible characters
                continue
            sentences = [piece for s in self.sentences(paragraph, language) for piece in self._fit(s)]
            pieces = [p.strip() for p in self._pack(sentences, len(LEVELS)) if normalize(p)]
            for i, piece in enumerate(pieces):
                segments.append(
                    TextSegment(piece, self.count_tokens(piece), estimate_seconds(piece), i == len(pieces) - 1)
                )
        if segments:
            last = segments[-1]
            segments[-1] = TextSegment(last.text, last.tokens, last.seconds, False)
        return segments


def _open_cue(text: str) -> bool:
    """Whether ``text`` ends inside a cue span (an unclosed ``[`` or an odd number of ``♪``)."""
    return text.count("♪") % 2 == 1 or text.rfind("[") > text.rfind("]")


def _starts_lower(text: str) -> bool:
    """A "sentence" starting in lower case follows an abbreviation the rules did not know ("т.е. ушёл")."""
    stripped = text.lstrip()
    return bool(stripped) and stripped[0].islower()


def _is_crumb(text: str) -> bool:
    """An abbreviation cut off as a sentence of its own: one short word ending in a full stop."""
    word = text.strip()
    return (
        word.endswith(".")
        and not any(c.isspace() for c in word)
        and sum(c.isalpha() for c in word) <= MAX_CRUMB_LETTERS
        and not SYLLABIC.search(word)
    )


def split_text(
    text: str,
    count_tokens: Callable[[str], int],
    segment_seconds: float,
    language: str | None = None,
) -> list[TextSegment]:
    """Segments of ``text`` in order, each within ``segment_seconds`` (estimated) and MAX_TEXT_TOKENS."""
    return Splitter(count_tokens, segment_seconds).split(text, language or guess_language(text))
