"""Reading `bark batch` inputs into items: lines of text files, whole files, or JSONL objects.

Each item knows its text, where it came from, and the output name it will be written to under the
output directory. A malformed item carries its error instead of failing the whole batch.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

# Per-item overrides a JSONL object may carry, with their types (the rest come from the flags).
ITEM_OPTIONS = {"text_temp": float, "waveform_temp": float, "fine_temp": float, "top_k": int, "top_p": float,
                "min_eos_p": float, "max_seconds": float}  # fmt: skip
JSONL_KEYS = {"text", "voice", "output", "seed", *ITEM_OPTIONS}
BY_CHOICES = ("line", "file", "jsonl")


@dataclass
class Item:
    number: int  # 1-based, across all inputs
    source: str  # "book.txt:12", "ch01.txt", "<stdin>:3"
    text: str
    output: str  # relative to the output directory
    voice: str | None = None
    seed: int | None = None
    options: dict = field(default_factory=dict)  # per-item generation overrides
    error: str | None = None  # why this item cannot be rendered


class InputError(Exception):
    pass


def _read(path: str) -> str:
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (invalid byte at offset {exc.start})") from exc


def _mode(path: str, by: str | None) -> str:
    if by is not None:
        return by
    return "jsonl" if path.endswith(".jsonl") else "line"


def _stem(path: str) -> str:
    return "stdin" if path == "-" else Path(path).stem


def _width(count: int) -> int:
    return max(3, len(str(count)))


def _jsonl_item(number: int, source: str, line: str, default_output: str) -> Item:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return Item(number, source, "", default_output, error=f"not valid JSON ({exc.msg})")
    if not isinstance(data, dict):
        return Item(number, source, "", default_output, error="a JSONL line must be an object")
    unknown = set(data) - JSONL_KEYS
    if unknown:
        return Item(number, source, "", default_output, error=f"unknown key(s) {', '.join(sorted(unknown))}")
    text, output = data.get("text"), data.get("output", default_output)
    if not isinstance(text, str):
        return Item(number, source, "", default_output, error="\"text\" must be a string")
    if not isinstance(output, str) or not output:
        return Item(number, source, text, default_output, error="\"output\" must be a non-empty string")
    item = Item(number, source, text, output, data.get("voice"), data.get("seed"))
    if item.voice is not None and not isinstance(item.voice, str):
        item.error = "\"voice\" must be a string"
    if item.seed is not None and (isinstance(item.seed, bool) or not isinstance(item.seed, int) or item.seed < 0):
        item.error = "\"seed\" must be a whole number >= 0"
    for key, kind in ITEM_OPTIONS.items():
        if key in data:
            value = data[key]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or isinstance(value, bool):
                item.error = f"\"{key}\" must be a {kind.__name__}"
            item.options[key] = value
    return item


def read_items(inputs: list[str], by: str | None, extension: str) -> list[Item]:
    """All items of ``inputs`` in order; output names get ``extension`` (e.g. "wav")."""
    items: list[Item] = []
    for path in inputs:
        mode = _mode(path, by)
        text = _read(path)
        stem = _stem(path)
        if mode == "file":
            items.append(Item(len(items) + 1, path, text, f"{stem}.{extension}"))
            continue
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        width = _width(len(lines))
        for k, (n, line) in enumerate(lines, 1):
            source, output = f"{'<stdin>' if path == '-' else path}:{n}", f"{stem}-{k:0{width}d}.{extension}"
            if mode == "jsonl":
                items.append(_jsonl_item(len(items) + 1, source, line, output))
            else:
                items.append(Item(len(items) + 1, source, line, output))
    _check_outputs(items)
    return items


def _check_outputs(items: list[Item]) -> None:
    """Refuse outputs that would land outside the output directory, and two items writing one file."""
    seen: dict[str, int] = {}
    for item in items:
        name = PurePosixPath(item.output)
        if name.is_absolute() or ".." in name.parts or "\\" in item.output:
            item.error = item.error or f"output {item.output!r} would land outside --out-dir"
            continue
        key = str(name)
        if key in seen:
            item.error = item.error or f"output {item.output!r} is also item {seen[key]}'s"
        else:
            seen[key] = item.number
