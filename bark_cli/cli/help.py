"""How --help reads: typer's rich help, adjusted where it reads as code rather than as a command line.

typer 0.29 (pinned below 0.30 in pyproject.toml) writes a Python type after every parameter (``<bool>``
after a flag, ``<list[str]>``, ``<path>``), wraps a required argument in braces (``{inputs}``), and
starts the help with a blank line. Here, as click and most Unix tools write them: a flag has no
placeholder, a value has its metavar (TEXT, N, NUM, PATH, or the option's choices), arguments are
upper case (``INPUTS...``, ``[TEXT]``), and the usage line is the first line.

`apply` patches typer's classes once, when the app is assembled (cli/app.py); tests/test_generated.py
checks the result in docs/CLI.md.
"""

from __future__ import annotations

from typing import Any

# typer's name of a value's type -> the placeholder --help shows (click's words, shorter for numbers)
PLACEHOLDERS = {"str": "TEXT", "int": "N", "float": "NUM", "path": "PATH", "file": "FILE"}


def placeholder(kind: type, choices: tuple[str, ...] | None = None) -> str:
    """The metavar of an option of Python type ``kind`` (choices are written out: wav|flac|ogg|mp3)."""
    if choices:
        return "|".join(choices)
    return PLACEHOLDERS.get(kind.__name__.lower(), kind.__name__.upper())


def _option_type(self, ctx) -> str | None:
    if self.metavar is not None:
        return self.metavar or None
    if self.is_flag:
        return None  # a flag takes no value
    label = self.display_type(ctx).strip("<>")  # typer's own: "str", "int", "path", "list[str]"
    label = label.removeprefix("list[").removesuffix("]")
    return PLACEHOLDERS.get(label, label.upper()) + ("..." if self.nargs != 1 else "")


def _argument_name(self) -> str:
    return (self.metavar or self.name).upper()


def _argument_usage(self) -> str:
    name = self.display_name_raw
    name = name if self.required else f"[{name}]"
    return name + ("..." if self.nargs != 1 else "")


def _padding(renderable: Any, pad: Any = (0, 0, 0, 0), **kwargs: Any):
    from rich.padding import Padding

    if pad == 1:  # the usage line's (and an epilogue's): no blank line above it
        pad = (0, 1, 1, 1)
    return Padding(renderable, pad, **kwargs)


def apply() -> None:
    """Make typer's help read as the module docstring says (idempotent)."""
    from typer import core, rich_utils

    core.TyperOption.display_type_rich = _option_type
    core.TyperArgument.display_type_rich = lambda self, ctx: None  # the argument's name says it
    core.TyperArgument.display_name_raw = property(_argument_name)
    core.TyperArgument._usage_display_name = _argument_usage
    rich_utils.Padding = _padding
