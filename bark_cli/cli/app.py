"""The `bark` command: assembles the command groups and feeds the user's defaults to them.

Nothing heavy is imported here (no torch), so ``--help`` and shell completion stay instant; commands import
the library when they run.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from .. import __version__
from . import batch, book, cache, check, completion, config, help, models, say, serve, split, voices

help.apply()  # --help as a command line reads (see help.py)
completion.init()

app = typer.Typer(
    name="bark",
    help="Text to speech with Suno's Bark, from the terminal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,  # ours take the shell as a value (completion.py)
    context_settings={"help_option_names": ["-h", "--help"]},
)
# Commands whose options take their defaults from the config file and BARK_* variables.
CONFIGURABLE = ("say", "split", "batch", "book", "serve")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bark-cli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
    install_completion: Annotated[
        Optional[str],
        typer.Option(
            "--install-completion", callback=completion.install, is_eager=True, expose_value=False, metavar="SHELL",
            autocompletion=completion.completing_shells, help="Install completion for SHELL: bash, zsh, fish or powershell.",
        ),
    ] = None,
    show_completion: Annotated[
        Optional[str],
        typer.Option(
            "--show-completion", callback=completion.show, is_eager=True, expose_value=False, metavar="SHELL",
            autocompletion=completion.completing_shells, help="Print the completion script for SHELL, to install it yourself.",
        ),
    ] = None,
) -> None:
    """Text to speech with Suno's Bark, from the terminal."""
    if ctx.resilient_parsing or ctx.invoked_subcommand not in CONFIGURABLE:
        return  # shell completion, or a command without configurable options
    from .reporting import reporting_errors
    from .settings import default_map

    commands = ctx.command.commands  # the group's subcommands, by name
    params = {name: [p.name for p in commands[name].params] for name in CONFIGURABLE}
    with reporting_errors():
        ctx.default_map = default_map(params)


app.command("say")(say.say)
app.command("split")(split.split)
app.command("batch")(batch.batch)
app.command("check")(check.check)
app.command("book")(book.book)
app.command("serve")(serve.serve)
app.add_typer(voices.app, name="voices")
app.add_typer(config.app, name="config")
app.add_typer(models.app, name="models")
app.add_typer(cache.app, name="cache")


def _stdout_identity() -> tuple[int, int] | None:
    try:
        status = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError):
        return None
    return status.st_dev, status.st_ino


def _usage_error(exc) -> int:
    """click's usage errors (unknown flag or command, a missing or malformed value) as one line, exit 2."""
    from .reporting import printable

    if type(exc).__name__ == "NoArgsIsHelpError":  # `bark voices`: click has printed the help already
        return exc.exit_code
    message = " ".join(exc.format_message().split())
    if getattr(exc, "ctx", None) is not None:
        message += f" (see '{exc.ctx.command_path} --help')"
    typer.echo(f"bark: error: {printable(message)}", err=True)
    return exc.exit_code


def main() -> None:
    from typer import Abort
    from typer._click.exceptions import ClickException

    from ..errors import OutputClosedError
    from .streams import reopen_closed_streams

    reopen_closed_streams()
    stdout = _stdout_identity()
    # A fixed program name: usage lines and the completion variable (_BARK_COMPLETE) read the same
    # whether started as `bark` or `python -m bark_cli`. Not standalone: click's errors come back here,
    # to be reported as ours are (standalone, Typer draws a box of several lines around them).
    try:
        code = app(prog_name="bark", standalone_mode=False)
    except ClickException as exc:
        code = _usage_error(exc)
    except Abort:
        typer.echo("bark: error: aborted", err=True)
        code = 1
    except BrokenPipeError:  # `bark --help | head -1`: the reader left; end quietly like other tools
        from .reporting import silence_stdout

        silence_stdout()
        code = OutputClosedError.exit_code
    except SystemExit as exc:
        # rich (typer's help) meets a closed pipe by pointing stdout at /dev/null and exiting 1; the
        # swapped stdout tells that exit apart from a real error: the reader left, exit like our commands.
        if exc.code == 1 and stdout is not None and _stdout_identity() != stdout:
            raise SystemExit(OutputClosedError.exit_code) from None
        raise
    raise SystemExit(code if isinstance(code, int) else 0)
