"""The flags people already type (-v for the voice, `bark voices`, `bark models list`), and the papercuts of
the first trial: help, completion, JSONL output formats, config repair."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile
from typer.testing import CliRunner

from bark_cli.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def test_dash_v_is_the_voice_and_stdin_is_still_read(tiny_checkpoint, tiny_voice, tmp_path):
    """`echo hello | bark say -v VOICE -o out.wav` speaks "hello" in that voice (-v once meant --verbose)."""
    manifest = tmp_path / "m.json"
    args = ["say", "-v", str(tiny_voice), "-o", str(tmp_path / "out.wav"), "--manifest", str(manifest),
            "--model", str(tiny_checkpoint), "--max-seconds", "1", "--seed", "1"]  # fmt: skip
    result = runner.invoke(app, args, input="hello\n")
    assert result.exit_code == 0, result.output
    [segment] = json.loads(manifest.read_text())["segments"]
    assert segment["text"] == "hello" and segment["voice"] == str(tiny_voice)
    verbose = runner.invoke(app, [*args, "--verbose"], input="hello\n")
    assert verbose.exit_code == 0 and "bark: seed 1" in verbose.output


def test_bark_voices_is_bark_voices_list():
    for extra in ([], ["--lang", "fr", "--json"]):
        alone, listed = runner.invoke(app, ["voices", *extra]), runner.invoke(app, ["voices", "list", *extra])
        assert alone.exit_code == listed.exit_code == 0 and alone.output == listed.output
        assert "fr_speaker_1" in alone.output


def test_models_list_marks_the_downloadable_checkpoints_cached_or_not():
    """No Hugging Face cache here (conftest): both of Suno's checkpoints are listed, with sizes, not cached."""
    rows = json.loads(runner.invoke(app, ["models", "list", "--json"]).output)
    assert [(r["model"], r["cached"]) for r in rows] == [("suno/bark-small", False), ("suno/bark", False)]
    assert 1e9 < rows[0]["size_bytes"] < rows[1]["size_bytes"]
    table = runner.invoke(app, ["models", "list"])
    assert table.exit_code == 0 and table.output == runner.invoke(app, ["models"]).output
    assert "suno/bark-small" in table.output and "not cached" in table.output and "GB" in table.output


def test_help_reads_as_a_command_line():
    """No Python types after parameters, no {name} placeholders, no blank first line, no paragraph broken
    mid-sentence (docs/CLI.md holds every command's help, checked current by test_generated.py)."""
    reference = (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8")
    for tag in ("<bool>", "<str>", "<int>", "<float>", "<path>", "<list[", "{text}", "{inputs}", "{name}"):
        assert tag not in reference
    assert "bark batch [OPTIONS] INPUTS..." in reference and "--voice    -v      NAME" in reference
    top = runner.invoke(app, ["--help"], prog_name="bark", env={"COLUMNS": "100"})
    assert top.output.splitlines()[0].startswith(" Usage: bark")
    import inspect

    import typer.main

    def paragraphs(command):
        yield from inspect.cleandoc(command.help or "").split("\n\n")
        for sub in getattr(command, "commands", {}).values():
            yield from paragraphs(sub)

    assert all("\n" not in p for p in paragraphs(typer.main.get_command(app)))


@pytest.mark.parametrize("shell, start", [("zsh", "#compdef bark"), ("fish", "complete --command bark"), ("bash", "_bark_completion()")])
def test_show_completion_prints_the_named_shells_script(shell, start):
    result = runner.invoke(app, ["--show-completion", shell], prog_name="bark")
    assert result.exit_code == 0 and result.output.startswith(start)
    assert runner.invoke(app, ["--show-completion", "tcsh"], prog_name="bark").exit_code == 2


def _complete(words: str, env: dict) -> list[str]:
    parts = words.split(" ")
    result = subprocess.run(
        [sys.executable, "-m", "bark_cli"], capture_output=True, text=True, timeout=60,
        env={**env, "_BARK_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)},
    )  # fmt: skip
    return result.stdout.split()


def test_completion_of_names_keys_and_choices(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    voices = tmp_path / "data" / "bark-cli" / "voices"
    voices.mkdir(parents=True)
    (voices / "narrator.npz").write_bytes(b"")  # names are listed without reading the files
    assert "v2/de_speaker_3" in _complete("bark voices show v2/de_", env)
    assert _complete("bark voices remove ", env) == ["narrator"]
    assert _complete("bark config set text", env) == ["text_temp"]
    assert _complete("bark config unset seg", env) == ["segment_seconds"]
    assert _complete("bark batch in.txt --by ", env) == ["line", "file", "jsonl"]
    assert _complete("bark say hi --device c", env) == ["cpu", "cuda"]
    assert _complete("bark say hi --format ", env) == ["wav", "flac", "ogg", "mp3"]


def test_a_jsonl_output_name_decides_its_format(tiny_checkpoint, tmp_path):
    items = tmp_path / "items.jsonl"
    lines = [{"text": "hello", "output": "a.mp3"}, {"text": "hello", "output": "b.flac"}, {"text": "hello", "output": "c"}]
    items.write_text("".join(json.dumps(line) + "\n" for line in lines))
    args = ["batch", str(items), "-d", str(tmp_path / "out"), "--model", str(tiny_checkpoint), "--max-seconds", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    formats = [soundfile.info(tmp_path / "out" / name).format for name in ("a.mp3", "b.flac", "c")]
    assert formats == ["MP3", "FLAC", "WAV"]  # a name without a known extension takes --format (wav)


def test_config_set_voice_file_is_stored_absolute(tiny_voice, tmp_path, monkeypatch):
    import shutil

    import tomllib

    from bark_cli.cli.settings import config_path

    shutil.copy(tiny_voice, tmp_path / "narrator.npz")
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["config", "set", "voice", "narrator.npz"]).exit_code == 0
    assert tomllib.loads(config_path().read_text())["voice"] == str(tmp_path / "narrator.npz")
    assert runner.invoke(app, ["config", "set", "voice", "v2/en_speaker_6"]).exit_code == 0
    assert tomllib.loads(config_path().read_text())["voice"] == "v2/en_speaker_6"  # a name stays a name


def test_config_set_and_unset_repair_a_file_with_bad_values():
    from bark_cli.cli.settings import config_path

    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text('batch_size = "eight"\ncolour = "red"\ntext_temp = 0.6\n')
    assert runner.invoke(app, ["config", "show"]).exit_code == 2  # what is wrong is said where it is used
    assert runner.invoke(app, ["config", "set", "batch_size", "4"]).exit_code == 0
    assert runner.invoke(app, ["config", "unset", "colour"]).exit_code == 0
    shown = runner.invoke(app, ["config", "show", "--json"])
    assert shown.exit_code == 0, shown.output
    values = {row["key"]: row["value"] for row in json.loads(shown.output)}
    assert values["batch_size"] == 4 and values["text_temp"] == 0.6
    assert runner.invoke(app, ["config", "unset", "colour"]).exit_code == 2  # gone: an unknown key again
