"""`bark --show-completion SHELL` and `bark --install-completion SHELL`: typer's scripts, for the shell named.

typer's own flags take no value and detect the shell bark runs in (``bark --show-completion zsh`` printed
the bash script, from bash); these take the shell as their value.
"""

from __future__ import annotations

import typer

SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")
PROG_NAME, COMPLETE_VAR = "bark", "_BARK_COMPLETE"  # cli/app.py runs the app under this name


def init() -> None:
    """Register typer's completion classes with click (typer does it when it adds its own flags)."""
    from typer._completion_classes import completion_init

    completion_init()


def _shell(value: str) -> str:
    from ..errors import InvalidOptionError

    if value not in SHELLS:
        raise InvalidOptionError(f"cannot complete for {value!r}: name bash, zsh, fish or powershell")
    return value


def show(ctx: typer.Context, value: str | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    from typer._completion_shared import get_completion_script

    from .reporting import reporting_errors

    with reporting_errors():
        typer.echo(get_completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_VAR, shell=_shell(value)))
    raise typer.Exit()


def install(ctx: typer.Context, value: str | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    from typer._completion_shared import install as install_script

    from .reporting import reporting_errors

    with reporting_errors():
        shell, path = install_script(shell=_shell(value), prog_name=PROG_NAME, complete_var=COMPLETE_VAR)
        typer.echo(f"{shell} completion installed in {path}; it takes effect in a new shell", err=True)
    raise typer.Exit()


def completing_shells(incomplete: str) -> list[str]:
    return [s for s in SHELLS if s.startswith(incomplete)]
