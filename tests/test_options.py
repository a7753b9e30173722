"""One declaration per option: every option of the schema (options.py) reaches what it declares (the
commands' flags, the config file, BARK_* variables, JSONL items, the cache keys) and nothing else.

The values come from each declaration itself, so a new option needs no edit here.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from bark_cli.api.say import SayResult
from bark_cli.batch.inputs import item_options, read_items
from bark_cli.cli.app import app
from bark_cli.cli.settings import config_options
from bark_cli.errors import InvalidOptionError
from bark_cli.options import GROUPS, GenerationOptions, OutputOptions, QualityOptions, RenderOptions, RuntimeOptions
from bark_cli.schema import Declared, coerce, declared

OPTIONS = [o for group in GROUPS for o in declared(group)]
runner = CliRunner()
# Options whose values match a pattern: a value other than the default, for the test.
PATTERNED = {"model": "other/model", "device": "cpu", "volume": "-3dB"}


def other_value(option: Declared):
    """A valid value different from the default, read from the declaration."""
    spec = option.spec
    if option.name in PATTERNED:
        return PATTERNED[option.name]
    if option.kind is bool:
        return not option.default
    if spec.choices:
        return next(c for c in spec.choices if c != option.default)
    if option.kind is str:
        return "v2/en_speaker_1"
    if option.kind is int:
        value = (option.default or spec.low or 0) + 1
        return value if spec.high is None or value <= spec.high else spec.low
    low, high = spec.low if spec.low is not None else 0.0, spec.high if spec.high is not None else 1.0
    return round(low + (high - low) * 0.37, 3)


def as_text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def command_args(option: Declared, value) -> list[str]:
    if option.kind is bool:
        return [option.flag] if value else []
    return [option.flag, as_text(value)]


@pytest.fixture
def captured(monkeypatch):
    """The options the commands hand to the API (the API itself is tested everywhere else)."""
    from bark_cli import api

    calls = {}

    def say(text, output, **kwargs):
        calls.update(kwargs)
        return SayResult(output, 1.0, 1.0, 0, 1, 0)

    def batch(inputs, out_dir, **kwargs):
        from bark_cli.api.batch import Summary

        calls.update(kwargs)
        return Summary()

    monkeypatch.setattr(api, "say", say)
    monkeypatch.setattr(api, "batch", batch)
    return calls


def _group_name(option: Declared) -> str:
    groups = {RuntimeOptions: "runtime", GenerationOptions: "generation", RenderOptions: "render", OutputOptions: "out"}
    return {**groups, QualityOptions: "quality"}[option.group]


def test_the_schema_declares_every_group_field():
    for group in GROUPS:
        assert [f.name for f in dataclasses.fields(group)] == [o.name for o in declared(group)]
    for option in OPTIONS:
        assert coerce(option, option.default) == option.default, option.name
        assert coerce(option, other_value(option)) != option.default, option.name


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.name)
def test_each_option_reaches_say_and_batch_as_a_flag(option, captured, tmp_path):
    value = other_value(option)
    commands = typer.main.get_command(app).commands
    for name in ("say", "batch"):
        flags = {max(p.opts, key=len): p.name for p in commands[name].params if p.param_type_name == "option"}
        assert flags.get(option.flag) == option.name
    result = runner.invoke(app, ["say", "hi", "-o", str(tmp_path / "x.wav"), *command_args(option, value)])
    assert result.exit_code == 0, result.output
    assert getattr(captured[_group_name(option)], option.name) == value
    captured.clear()
    (tmp_path / "in.txt").write_text("hi\n")
    result = runner.invoke(app, ["batch", str(tmp_path / "in.txt"), "-d", str(tmp_path / "out"), *command_args(option, value)])
    assert result.exit_code == 0, result.output
    assert getattr(captured[_group_name(option)], option.name) == value


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.name)
def test_each_option_reaches_the_config_file_and_environment_as_declared(option, captured, tmp_path, monkeypatch):
    value = other_value(option)
    variable = "BARK_" + option.name.upper()
    args = ["say", "hi", "-o", str(tmp_path / "x.wav")]
    monkeypatch.setenv(variable, as_text(value))
    result = runner.invoke(app, args)
    if not option.spec.config:
        assert option.name not in config_options()
        assert result.exit_code == 0 and getattr(captured[_group_name(option)], option.name) == option.default
        set_result = runner.invoke(app, ["config", "set", option.name, as_text(value)])
        assert set_result.exit_code == 2 and "unknown key" in set_result.output
        return
    assert result.exit_code == 0, result.output
    assert getattr(captured[_group_name(option)], option.name) == value
    monkeypatch.delenv(variable)
    captured.clear()
    config = tmp_path / "config" / "bark-cli" / "config.toml"  # XDG_CONFIG_HOME is tmp_path/config (conftest)
    config.parent.mkdir(parents=True)
    config.write_text(f"{option.name} = {json.dumps(value)}\n")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert getattr(captured[_group_name(option)], option.name) == value
    shown = runner.invoke(app, ["config", "show", "--json"])
    assert {"key": option.name, "value": value, "source": str(config)} in json.loads(shown.stdout)


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.name)
def test_each_option_reaches_jsonl_items_as_declared(option, tmp_path):
    value = other_value(option)
    source = tmp_path / "items.jsonl"
    source.write_text(json.dumps({"text": "hi", option.name: value}) + "\n")
    [item] = read_items([str(source)], None, "wav")
    if option.spec.item:
        assert item.error is None and item.options == {option.name: value}
    else:
        assert option.name not in item_options() and "unknown key" in item.error


def test_jsonl_values_are_checked_like_flags(tmp_path):
    source = tmp_path / "items.jsonl"
    lines = [{"text": "a", "top_k": 0}, {"text": "b", "seed": -1}, {"text": "c", "text_temp": "hot"}, {"text": "d", "top_p": 1}]
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    items = read_items([str(source)], None, "wav")
    assert '"top_k" must be a whole number of at least 1' in items[0].error
    assert '"seed" must be a whole number from 0' in items[1].error
    assert '"text_temp" must be a number' in items[2].error
    assert items[3].error is None and items[3].options == {"top_p": 1.0}


def test_bad_values_name_the_flag_and_the_range():
    with pytest.raises(InvalidOptionError, match=r"--text-temp must be in \[0, 5\], got -1"):
        GenerationOptions(text_temp=-1)
    with pytest.raises(InvalidOptionError, match=r"--quantize must be int8, got 'int4'"):
        RuntimeOptions(quantize="int4")
    with pytest.raises(InvalidOptionError, match=r"--device must be auto, cpu, cuda, cuda:N or mps, got 'tpu'"):
        RuntimeOptions(device="tpu")
    with pytest.raises(InvalidOptionError, match=r"--half must be true or false"):
        RuntimeOptions(half="yes")
    assert isinstance(RenderOptions(segment_seconds=3).segment_seconds, float)


def test_usage_errors_exit_2_from_a_flag_the_config_file_or_the_environment(tmp_path, monkeypatch):
    args = ["say", "hi", "-o", str(tmp_path / "x.wav")]
    flag = runner.invoke(app, [*args, "--format", "aiff"])
    assert flag.exit_code == 2 and "--format must be wav, flac, ogg or mp3, got 'aiff'" in flag.output
    config = tmp_path / "config" / "bark-cli" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('format = "aiff"\n')
    from_file = runner.invoke(app, args)
    assert from_file.exit_code == 2 and f"format in {config}: must be wav, flac, ogg or mp3" in from_file.output
    config.unlink()
    monkeypatch.setenv("BARK_FORMAT", "aiff")
    from_env = runner.invoke(app, args)
    assert from_env.exit_code == 2 and "format in env BARK_FORMAT" in from_env.output


def test_split_takes_only_its_options():
    params = {p.name for p in typer.main.get_command(app).commands["split"].params}
    assert params & {o.name for o in OPTIONS} == {"model", "voice", "segment_seconds"}


def test_a_command_run_in_process_leaves_signals_and_logging_as_it_found_them(tmp_path):
    import logging
    import signal

    before = (signal.getsignal(signal.SIGTERM), logging.getLogger("bark_cli").handlers[:], logging.getLogger().handlers[:])
    (tmp_path / "in.txt").write_text("hi\n")
    for args in (["batch", str(tmp_path / "in.txt"), "-d", str(tmp_path / "out"), "--model", str(tmp_path)], ["say", "--verbose", "hi", "-o", "x.mp4"]):
        runner.invoke(app, args)
    after = (signal.getsignal(signal.SIGTERM), logging.getLogger("bark_cli").handlers[:], logging.getLogger().handlers[:])
    assert after == before
