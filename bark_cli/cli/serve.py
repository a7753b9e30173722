"""`bark serve`: keep the networks loaded and render `bark say` calls of this user without reloading them."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..options import RuntimeOptions
from ..serve import DEFAULT_IDLE_TIMEOUT
from .parameters import Quiet, Verbose, with_options
from .reporting import reporting_errors


@with_options(RuntimeOptions)
def serve(
    options: dict = None,  # the runtime options of options.py: `bark say` uses the server when its own match
    port: Annotated[
        Optional[int],
        typer.Option(
            "--port", min=0, max=65535, show_default=False,
            help="Listen on 127.0.0.1:PORT (0: any free port) instead of the Unix socket, for clients in other "
            "languages; each connection must send the token written to tcp.json in the runtime directory.",
        ),
    ] = None,  # fmt: skip
    idle_timeout: Annotated[
        float, typer.Option("--idle-timeout", min=0.0, help="Stop after this many seconds without a request (0: never).")
    ] = DEFAULT_IDLE_TIMEOUT,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Keep the model loaded and render this user's `bark say` calls with it, until idle.

    A Unix socket in the user runtime directory (0600 in a 0700 directory), or --port with a token. Prints the socket's path (or 127.0.0.1:PORT) on stdout once the model is loaded.
    """  # one line per paragraph: typer keeps a paragraph's line breaks after the first one
    with reporting_errors(verbose, quiet):
        from ..schema import build
        from ..serve.server import serve as run

        def ready(address) -> None:
            typer.echo(str(address))  # scripts wait for this line: the networks are loaded

        run(build(RuntimeOptions, options), port=port, idle_timeout=idle_timeout, ready=ready)
