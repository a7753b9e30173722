"""Reading `bark batch` inputs into items: lines of text files, whole files, or JSONL objects.

Each item knows its text, where it came from, the output name it will be written to under the output
directory, and its own option overrides (the options declared with ``item`` in options.py). A malformed
item, a line that is not UTF-8 included, carries its error instead of failing the whole batch.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BarkError, InputTextError
from ..text.normalize import decode_utf8, normalize
from ..options import GROUPS
from ..schema import Declared, coerce, declared

# JSONL keys besides the item options: the text, and the output name under --out-dir.
ITEM_FIELDS = ("text", "output")
BY_CHOICES = ("line", "file", "jsonl")


def item_options() -> dict[str, Declared]:
    """The options a JSONL item may set for itself, by key."""
    return {o.name: o for group in GROUPS for o in declared(group) if o.spec.item}


@dataclass
class Item:
    number: int  # 1-based, across all inputs
    source: str  # "book.txt:12", "ch01.txt", "<stdin>:3"
    text: str
    output: str  # relative to the output directory
    options: dict = field(default_factory=dict)  # its own option values, by name (see item_options)
    error: str | None = None  # why this item cannot be rendered


def _read(path: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise InputTextError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _decode(data: bytes, where: str) -> tuple[str, str | None]:
    """The text (a leading byte order mark dropped), or "" and why it is not UTF-8."""
    try:
        return decode_utf8(data, where), None
    except InputTextError as exc:
        return "", str(exc)


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
    known = item_options()
    unknown = set(data) - set(known) - set(ITEM_FIELDS)
    if unknown:
        return Item(number, source, "", default_output, error=f"unknown key(s) {', '.join(sorted(unknown))}")
    text, output = data.get("text"), data.get("output", default_output)
    if not isinstance(text, str):
        return Item(number, source, "", default_output, error="\"text\" must be a string")
    if not isinstance(output, str) or not output:
        return Item(number, source, text, default_output, error="\"output\" must be a non-empty string")
    item = Item(number, source, text, output)
    for key, option in known.items():
        if key in data:
            try:
                item.options[key] = coerce(option, data[key], label=f'"{key}"')
            except BarkError as exc:
                item.error = item.error or str(exc)
    return item


def read_items(inputs: list[str], by: str | None, extension: str) -> list[Item]:
    """All items of ``inputs`` in order; output names get ``extension`` (e.g. "wav")."""
    items: list[Item] = []
    for path in inputs:
        mode, stem = _mode(path, by), _stem(path)
        name = "<stdin>" if path == "-" else path
        data = _read(path)
        if mode == "file":
            text, error = _decode(data, name)
            items.append(Item(len(items) + 1, path, text, f"{stem}.{extension}", error=error))
            continue
        # Line by line, each decoded alone: one bad line fails its own item only. An editor's byte order
        # mark before the first line is dropped (decode_utf8); blank lines, invisible ones too, are no items.
        decoded = [(n, *_decode(raw, f"line {n}")) for n, raw in enumerate(data.splitlines(), 1)]
        lines = [(n, line, error) for n, line, error in decoded if error is not None or normalize(line)]
        width = _width(len(lines))
        for k, (n, line, error) in enumerate(lines, 1):
            source, output = f"{name}:{n}", f"{stem}-{k:0{width}d}.{extension}"
            if error is not None:
                items.append(Item(len(items) + 1, source, "", output, error=error))
            elif mode == "jsonl":
                items.append(_jsonl_item(len(items) + 1, source, line, output))
            else:
                items.append(Item(len(items) + 1, source, line, output))
    return items

