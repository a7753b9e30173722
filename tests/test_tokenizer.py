"""Our tokenizer (runtime/tokenizer.py, the `tokenizers` library) gives transformers' BertTokenizer's ids."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bark_cli.errors import WeightsNotFoundError
from bark_cli.runtime.tokenizer import load_tokenizer_from

TEXTS = [
    "Hello, my name is Suno. And, uh — and I like pizza. [laughs]",
    "♪ In the jungle, the mighty jungle ♪ MAN: hello...", "Bonjour à tous ! Ça va ?", "Ünïcödé ÀÉÎÕÜ ñ",
    "你好，我的名字是 Suno。", "こんにちは、世界", "안녕하세요", "Привет, мир!", "नमस्ते दुनिया", "tab\there\nnewline  spaces",
    "\u200b zero width, \ufeff BOM, \x00 nul, \x7f del", "x" * 300, "",
]


@pytest.fixture(scope="module")
def reference(tiny_checkpoint):
    from transformers import BertTokenizer

    return BertTokenizer.from_pretrained(tiny_checkpoint)


@pytest.fixture(scope="module", params=["tokenizer.json", "vocab.txt only"])
def ours(request, tiny_checkpoint, tmp_path_factory):
    if request.param == "tokenizer.json":
        return load_tokenizer_from(tiny_checkpoint)
    directory = tmp_path_factory.mktemp("vocab-only")
    for name in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(tiny_checkpoint / name, directory / name)
    return load_tokenizer_from(directory)


@pytest.mark.parametrize("text", TEXTS)
def test_known_texts(ours, reference, text):
    assert ours.encode(text, add_special_tokens=False) == reference.encode(text, add_special_tokens=False)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text(ours, reference, text):
    assert ours.encode(text, add_special_tokens=False) == reference.encode(text, add_special_tokens=False)


def test_a_checkpoint_without_tokenizer_files_is_refused(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="has no tokenizer"):
        load_tokenizer_from(tmp_path)
