"""The config file and BARK_* variables: what is written reads back, and mistakes are said, not ignored."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bark_cli.cli.app import app
from bark_cli.cli.settings import config_path

runner = CliRunner()


def shown(**env) -> dict:
    result = runner.invoke(app, ["config", "show", "--json"], env=env)
    assert result.exit_code == 0, result.output
    return {row["key"]: row for row in json.loads(result.stdout)}


def test_any_value_set_reads_back():
    """A newline in a value once made TOML the file could not read back (every later run failed)."""
    for value in ("x\ny", 'a "quoted" \\ path', "tab\there"):
        assert runner.invoke(app, ["config", "set", "model", value]).exit_code == 0
        assert shown()["model"]["value"] == value
    assert runner.invoke(app, ["config", "set", "text_temp", "0.6"]).exit_code == 0
    assert shown()["text_temp"]["value"] == 0.6 and shown()["model"]["value"] == "tab\there"


def test_a_mistyped_variable_is_warned_about():
    result = runner.invoke(app, ["config", "show"], env={"BARK_TEXT_TMP": "0.5"})
    assert result.exit_code == 0
    assert result.stderr.strip() == "bark: warning: unknown variable BARK_TEXT_TMP is ignored; did you mean BARK_TEXT_TEMP?"
    quiet = runner.invoke(app, ["config", "show"], env={"BARK_TEXT_TEMP": "0.5", "BARK_DEBUG": ""})
    assert quiet.stderr == ""


def test_a_config_path_that_is_a_directory_is_an_error():
    config_path().mkdir(parents=True)
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 2 and f"config file {config_path()} is not a file" in result.stderr
