"""The text a command speaks: the TEXT argument, --file, or standard input, decoded as UTF-8."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InputTextError
from ..text.normalize import decode_utf8, normalize


def read_text(text: str | None, file: Path | None) -> str:
    """The text to speak: the TEXT argument, --file, or standard input (TEXT "-", or piped with no TEXT)."""
    if text is not None and file is not None:
        raise InputTextError("give the text either as an argument or with --file, not both")
    if file is not None:
        if str(file) == "-":
            return decode_utf8(sys.stdin.buffer.read(), "standard input")
        try:
            return decode_utf8(file.read_bytes(), str(file))
        except OSError as exc:
            raise InputTextError(f"cannot read {file}: {exc.strerror or exc}") from exc
    if text == "-" or (text is None and not sys.stdin.isatty()):
        content = decode_utf8(sys.stdin.buffer.read(), "standard input")
        if text is None and not normalize(content):
            raise InputTextError("no text: give TEXT, --file FILE, or pipe text on standard input")
        return content
    if text is None:
        raise InputTextError("no text: give TEXT, --file FILE, or pipe text on standard input")
    return text
