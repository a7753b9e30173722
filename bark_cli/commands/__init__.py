"""One module per command group; `bark_cli.cli` assembles them into the `bark` app."""
