"""Text as it arrives from files, pipes and JSONL: invisible characters and byte order marks."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bark_cli.batch.inputs import read_items
from bark_cli.cli.app import app
from bark_cli.text.normalize import normalize

runner = CliRunner()
INVISIBLE = "\u200b\ufeff\u200d\u2060"  # zero-width space, BOM, zero-width joiner, word joiner


def test_invisible_characters_alone_are_no_text(tiny_checkpoint, tmp_path):
    assert normalize(f" {INVISIBLE} \n") == "" and normalize(f"hel{INVISIBLE}lo") == "hello"
    result = runner.invoke(app, ["say", INVISIBLE, "-o", str(tmp_path / "x.wav"), "--model", str(tiny_checkpoint)])
    assert result.exit_code == 2 and "the text is empty" in result.output
    assert not (tmp_path / "x.wav").exists()
    lines = tmp_path / "lines.txt"
    lines.write_text(f"hello\n{INVISIBLE}\nworld\n")
    assert [item.text for item in read_items([str(lines)], None, "wav")] == ["hello", "world"]
    split = runner.invoke(app, ["split", "--json", "--model", str(tiny_checkpoint)], input=f"Hello.\n\n{INVISIBLE}\n\nWorld.")
    assert [s["text"] for s in json.loads(split.stdout)] == ["Hello.", "World."]  # no segment of nothing


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_a_byte_order_mark_is_not_text(tiny_checkpoint, tmp_path, how):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfHello there.")
    args = ["split", "--json", "--model", str(tiny_checkpoint)]
    result = runner.invoke(app, [*args, str(path)] if how == "file" else args, input=path.read_bytes() if how == "stdin" else None)
    assert result.exit_code == 0, result.output
    assert [s["text"] for s in json.loads(result.stdout)] == ["Hello there."]


def test_a_byte_order_mark_before_jsonl(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"text": "hello", "output": "a.wav"}).encode() + b"\n")
    [item] = read_items([str(path)], None, "wav")
    assert (item.error, item.text, item.output) == (None, "hello", "a.wav")


def test_an_invalid_byte_after_a_byte_order_mark_names_its_offset(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"\xef\xbb\xbfab\xff")
    result = runner.invoke(app, ["split", str(path)])
    assert result.exit_code == 2 and "invalid byte at offset 5" in result.stderr
