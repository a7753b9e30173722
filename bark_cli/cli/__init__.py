"""The `bark` command line: the Typer app, one module per command; imports no torch."""
