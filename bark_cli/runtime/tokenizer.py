"""The checkpoint's BERT WordPiece tokenizer, run by the `tokenizers` library (what transformers' own
BertTokenizer runs), without importing transformers."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import WeightsNotFoundError


class Tokenizer:
    """Text -> BERT token ids (bert-base-multilingual-cased for the hub checkpoints)."""

    def __init__(self, backend):
        self._backend = backend  # a tokenizers.Tokenizer

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return self._backend.encode(text, add_special_tokens=add_special_tokens).ids


def load_tokenizer_from(path: Path) -> Tokenizer:
    """The tokenizer in checkpoint directory ``path``: its tokenizer.json, or its vocab.txt with the
    settings of tokenizer_config.json (as transformers converts a BertTokenizer). WeightsNotFoundError
    when it has neither: rendering with no vocabulary would speak [UNK] for every word."""
    from tokenizers import Tokenizer as Backend

    if (path / "tokenizer.json").is_file():
        return Tokenizer(Backend.from_file(str(path / "tokenizer.json")))
    if (path / "vocab.txt").is_file():
        from tokenizers.implementations import BertWordPieceTokenizer

        settings_file = path / "tokenizer_config.json"
        settings = json.loads(settings_file.read_text(encoding="utf-8")) if settings_file.is_file() else {}
        lowercase = settings.get("do_lower_case", False)
        backend = BertWordPieceTokenizer(
            str(path / "vocab.txt"),
            clean_text=True,
            handle_chinese_chars=settings.get("tokenize_chinese_chars", True),
            strip_accents=settings.get("strip_accents"),
            lowercase=lowercase,
        )
        return Tokenizer(backend._tokenizer)
    raise WeightsNotFoundError(f"the checkpoint in {path} has no tokenizer (tokenizer.json or vocab.txt)")
