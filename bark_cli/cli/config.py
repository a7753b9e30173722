"""`bark config`: where the config file is, what is set and where each value comes from, and editing it."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from .reporting import reporting_errors

def _complete_key(incomplete: str) -> list[str]:
    from .settings import config_options

    return [key for key in config_options() if key.startswith(incomplete)]


app = typer.Typer(
    help="Show and edit your defaults (TOML file < BARK_* environment < flags).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.command()
def path() -> None:
    """Print the config file's path (it may not exist yet)."""
    from .settings import config_path

    typer.echo(str(config_path()))


@app.command()
def show(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every key with its value and where it came from: built-in, the file, or the environment."""
    with reporting_errors():
        from .settings import built_in, settings

        found = settings()
        rows = []
        for key, default in built_in().items():
            if key in found:
                rows.append((key, found[key].value, found[key].source))
            else:
                rows.append((key, default, "built-in"))
        if as_json:
            typer.echo(json.dumps([{"key": k, "value": v, "source": s} for k, v, s in rows], indent=2))
            return
        width = max(len(k) for k, _, _ in rows)
        for key, value, source in rows:
            shown = "(none)" if value is None else json.dumps(value) if isinstance(value, (bool, str)) else value
            typer.echo(f"{key:<{width}}  {shown!s:<22}  {source}")


@app.command("set")
def set_(
    key: Annotated[str, typer.Argument(help="A key, e.g. text_temp (see `bark config show`).", autocompletion=_complete_key)],
    value: Annotated[str, typer.Argument(help="Its value (validated like the flag).")],
) -> None:
    """Set a default in the config file."""
    with reporting_errors():
        from .settings import set_value

        set_value(key, value)


@app.command()
def unset(
    key: Annotated[str, typer.Argument(help="The key to remove from the config file.", autocompletion=_complete_key)],
) -> None:
    """Remove a default from the config file (back to built-in)."""
    with reporting_errors():
        from .settings import unset_value

        unset_value(key)
