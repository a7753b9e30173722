"""Text -> BERT token ids for the semantic model: whitespace normalised, never silently truncated."""

from __future__ import annotations

import codecs
import re
import unicodedata

import numpy as np

from ..constants import MAX_TEXT_TOKENS
from ..errors import InputTextError


def normalize(text: str) -> str:
    """Collapse runs of whitespace (newlines included) to one space, as the reference does, and drop the
    characters nobody sees or hears (zero-width spaces and joiners, BOMs, bidi marks, controls), as the
    BERT tokenizer does: text made only of them is empty."""
    visible = "".join(c for c in text if c.isspace() or unicodedata.category(c) not in ("Cf", "Cc"))
    return re.sub(r"\s+", " ", visible).strip()


def decode_utf8(data: bytes, source: str) -> str:
    """``data`` as UTF-8 text, without the byte order mark some editors put first; InputTextError naming
    ``source`` and the offset of the first invalid byte."""
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputTextError(f"{source} is not UTF-8 text (invalid byte at offset {bom + exc.start})") from exc


# Rough speaking rates of Bark voices, for planning segments (the model decides the real length).
CHARS_PER_SECOND = 14.0  # letters and digits of alphabetic scripts
SYLLABLE_CHARS_PER_SECOND = 5.0  # CJK ideographs, kana and hangul: about one syllable each
SYLLABIC = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
SCRIPTS = [  # (language, pattern) checked in order on the text's letters
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("zh", re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
]


def estimate_seconds(text: str) -> float:
    """Estimated seconds of speech for ``text``."""
    syllabic = len(SYLLABIC.findall(text))
    other = sum(c.isalnum() for c in text) - syllabic
    return syllabic / SYLLABLE_CHARS_PER_SECOND + other / CHARS_PER_SECOND


def guess_language(text: str) -> str:
    """Two-letter code for sentence rules, from the script (Latin-script languages share English rules)."""
    for language, pattern in SCRIPTS:
        if pattern.search(text):
            return language
    return "en"


def count_tokens(tokenizer, text: str) -> int:
    return len(tokenizer.encode(normalize(text), add_special_tokens=False))


def text_token_ids(tokenizer, text: str) -> np.ndarray:
    """BERT ids (T,) of one segment's text, T <= MAX_TEXT_TOKENS; an error, not a truncation, beyond that."""
    text = normalize(text)
    if not text:
        raise InputTextError("the text is empty: give some words to speak")
    ids = tokenizer.encode(text, add_special_tokens=False)
    if len(ids) > MAX_TEXT_TOKENS:
        raise InputTextError(
            f"the text is {len(ids)} tokens long; one Bark generation takes at most {MAX_TEXT_TOKENS}: "
            "split it into shorter pieces"
        )
    return np.asarray(ids, dtype=np.int64)
