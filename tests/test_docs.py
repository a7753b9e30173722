"""The README stays true to the code: exit codes, flags, and the CI command."""

from __future__ import annotations

from pathlib import Path

from bark_cli.errors import EXIT_CODES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_exit_code_table_matches_errors_module():
    for code, meaning in EXIT_CODES:
        assert f"| {code} | {meaning} |" in README


def test_every_say_flag_is_documented():
    import click
    import typer.main

    from bark_cli.cli.app import app

    command = typer.main.get_command(app).commands["say"]
    for param in command.params:
        if isinstance(param, click.Option):
            flag = max(param.opts, key=len)
            assert f"`{flag}" in README or f", {flag}" in README, f"{flag} missing from README usage"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = "pip install -e '.[test]' && python -m pytest"
    assert command in README and command in ci
