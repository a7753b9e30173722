"""Generated artefacts stay current: shell completions and the CLI reference come from the app itself.

Regenerate after changing commands or flags:  BARK_UPDATE_GENERATED=1 python -m pytest tests/test_generated.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bark_cli.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
SHELLS = {"bash": "bark.bash", "zsh": "_bark", "fish": "bark.fish"}
COMMANDS = [[], ["say"], ["split"], ["batch"], ["book"], ["serve"], ["voices"], ["voices", "list"], ["voices", "show"], ["voices", "import"],
            ["voices", "remove"], ["config"], ["config", "show"], ["config", "set"], ["config", "unset"],
            ["config", "path"], ["models"], ["models", "list"], ["models", "download"], ["cache"], ["cache", "info"],
            ["cache", "clear"]]  # fmt: skip


def completion_script(shell: str) -> str:
    # typer's own generator, the one behind `bark --show-completion` (which only knows the current shell).
    from typer._completion_shared import get_completion_script

    return get_completion_script(prog_name="bark", complete_var="_BARK_COMPLETE", shell=shell).strip() + "\n"


def cli_reference() -> str:
    runner = CliRunner()
    parts = ["# bark command-line reference\n", "Generated from the app by tests/test_generated.py; do not edit.\n"]
    for command in COMMANDS:
        result = runner.invoke(app, [*command, "--help"], prog_name="bark", env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}, terminal_width=100)
        assert result.exit_code == 0, result.output
        lines = [line.rstrip() for line in result.output.splitlines()]
        parts.append(f"## bark {' '.join(command)}\n\n```\n" + "\n".join(lines).strip("\n") + "\n```\n")
    return "\n".join(parts)


def _check(path: Path, expected: str) -> None:
    if os.environ.get("BARK_UPDATE_GENERATED"):
        path.write_text(expected, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == expected, f"{path} is stale: BARK_UPDATE_GENERATED=1 python -m pytest {__file__}"


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_completion_scripts_are_current(shell):
    _check(ROOT / "completions" / SHELLS[shell], completion_script(shell))


def test_cli_reference_is_current():
    _check(ROOT / "docs" / "CLI.md", cli_reference())
