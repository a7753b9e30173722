"""Text -> BERT token ids for the semantic model: whitespace normalised, never silently truncated."""

from __future__ import annotations

import re

import numpy as np

from .constants import MAX_TEXT_TOKENS
from .errors import InputTextError


def normalize(text: str) -> str:
    """Collapse runs of whitespace (newlines included) to one space, as the reference does."""
    return re.sub(r"\s+", " ", text).strip()


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
