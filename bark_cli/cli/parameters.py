"""The command line's parameters: the option schema (options.py) turned into Typer options, plus the few
flags every command shares. Nothing heavy is imported here, so --help and completion stay instant."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from ..schema import Declared, declared
from .help import placeholder


def complete_voice(incomplete: str) -> list[str]:
    """Voice names for shell completion: saved voices and shipped presets (no torch, no file reads)."""
    from ..voices.library import voice_names

    return [name for name in voice_names() if name.startswith(incomplete)]


def completing(values) -> Callable[[str], list[str]]:
    """Completion from a fixed list of values."""
    return lambda incomplete: [v for v in values if v.startswith(incomplete)]


def complete_saved_voice(incomplete: str) -> list[str]:
    """The user's saved voices (what `bark voices remove` can remove)."""
    from ..voices.library import voice_names

    return [name for name in voice_names(presets=False) if name.startswith(incomplete)]


DEVICES = ("auto", "cpu", "cuda", "mps")  # and cuda:N, which completion cannot know
COMPLETIONS: dict[str, Callable[[str], list[str]]] = {"voices": complete_voice, "devices": completing(DEVICES)}

TextFile = Annotated[
    Optional[Path], typer.Option("--file", "-f", help="Read the text from this UTF-8 file.", show_default=False)
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
# --verbose has no short form: -v is --voice, as in espeak-ng and edge-tts.
Verbose = Annotated[bool, typer.Option("--verbose", help="Also show load times, device, dtype and seed.")]


def _typer_parameter(option: Declared) -> inspect.Parameter:
    kind = Optional[option.kind] if option.optional else option.kind
    flags = [option.flag] + ([option.spec.short] if option.spec.short else [])
    if option.kind is bool:
        metavar = None  # a flag
    else:
        metavar = option.spec.metavar or placeholder(option.kind, option.spec.choices)
    complete = COMPLETIONS.get(option.spec.complete) if option.spec.complete else None
    if complete is None and option.spec.choices:
        complete = completing(option.spec.choices)
    info = typer.Option(
        *flags, help=option.spec.help, rich_help_panel=option.spec.panel, metavar=metavar, autocompletion=complete
    )
    return inspect.Parameter(
        option.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=option.default, annotation=Annotated[kind, info]
    )


def with_options(*groups: type, only: tuple[str, ...] | None = None):
    """Give a command every option declared by the dataclasses ``groups`` (or just the ``only`` ones).

    The options take the place of the command's ``options`` parameter, in --help too; the command is
    called with ``options``: their values by name, to build the dataclasses from (`schema.build`) where
    its errors are reported.
    """
    chosen = [o for group in groups for o in declared(group) if only is None or o.name in only]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command, eval_str=True)
        parameters = []
        for parameter in signature.parameters.values():
            parameters += [_typer_parameter(o) for o in chosen] if parameter.name == "options" else [parameter]

        @functools.wraps(command)
        def run(**kwargs: Any) -> Any:
            values = {o.name: kwargs.pop(o.name) for o in chosen}
            return command(**kwargs, options=values)

        run.__signature__ = signature.replace(parameters=parameters)  # what Typer reads
        return run

    return decorate
