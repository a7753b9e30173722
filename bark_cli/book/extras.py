"""The `book` extra: its packages are imported through here, so a missing one is one clear error."""

from __future__ import annotations

import importlib

from ..errors import MissingExtraError

INSTALL = "pip install 'bark-cli[book]'"


def require(module: str):
    """Import ``module`` (ebooklib, mutagen, pyloudnorm), or say which install command brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(f"bark book needs {module.split('.')[0]}, which is not installed: {INSTALL}") from exc
