"""User defaults: built-in < TOML file in the user config dir < BARK_* environment < command-line flags.

Keys are the option names of the commands (``text_temp`` is ``--text-temp`` and ``BARK_TEXT_TEMP``).
The CLI feeds the merged values to click as each command's ``default_map``, so a flag always wins.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import BarkError, ConfigError
from ..files import atomic_open

ENV_PREFIX = "BARK_"
# key -> type. The names are the CLI options' parameter names.
KEYS: dict[str, type] = {
    "model": str,
    "voice": str,
    "device": str,
    "half": bool,
    "cpu_offload": bool,
    "quantize": str,
    "text_temp": float,
    "waveform_temp": float,
    "fine_temp": float,
    "top_k": int,
    "top_p": float,
    "min_eos_p": float,
    "segment_seconds": float,
    "sentence_silence": float,
    "paragraph_silence": float,
    "trim_silence": bool,
    "batch_size": int,
    "format": str,
}
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Setting:
    key: str
    value: object
    source: str  # "built-in", the config file's path, or "env BARK_X"


def config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("bark-cli")) / "config.toml"


def parse(key: str, raw: str, where: str) -> object:
    """The typed value of ``raw`` text (from the environment or `bark config set`) for ``key``."""
    kind = _kind(key, where)
    text = raw.strip()
    try:
        if kind is bool:
            if text.lower() not in TRUE | FALSE:
                raise ValueError
            value: object = text.lower() in TRUE
        else:
            value = kind(text)
    except ValueError:
        raise ConfigError(f"{key} in {where}: {raw!r} is not a valid {kind.__name__}") from None
    return check(key, value, where)


def _kind(key: str, where: str) -> type:
    if key not in KEYS:
        raise ConfigError(f"unknown key {key!r} in {where}; known keys: {', '.join(KEYS)}")
    return KEYS[key]


def check(key: str, value: object, where: str) -> object:
    """Validate one value with the same rules as the flag; ConfigError names the key and where it came from."""
    kind = _kind(key, where)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{key} in {where}: expected a {kind.__name__}, got {value!r}")
    from ..audio.formats import FORMATS
    from ..options import GenerationOptions, RenderOptions, RuntimeOptions

    try:
        if key == "format":
            if value not in FORMATS:
                raise BarkError(f"unknown format {value!r}; use one of {', '.join(FORMATS)}")
        else:
            for cls in (GenerationOptions, RenderOptions, RuntimeOptions):
                if key in cls.__dataclass_fields__:
                    cls(**{key: value})
    except BarkError as exc:
        raise ConfigError(f"{key} in {where}: {exc}") from None
    return value


def read_file(path: Path | None = None) -> dict[str, object]:
    path = path or config_path()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    return {key: check(key, value, str(path)) for key, value in data.items()}


def settings(path: Path | None = None) -> dict[str, Setting]:
    """Every key set by the file or the environment, with where its value came from (env beats file)."""
    path = path or config_path()
    found = {k: Setting(k, v, str(path)) for k, v in read_file(path).items()}
    for key in KEYS:
        raw = os.environ.get(ENV_PREFIX + key.upper())
        if raw is not None and raw != "":
            found[key] = Setting(key, parse(key, raw, f"env {ENV_PREFIX + key.upper()}"), f"env {ENV_PREFIX}{key.upper()}")
    return found


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return repr(value)


def write_file(values: dict[str, object], path: Path | None = None) -> Path:
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# bark-cli defaults: `bark config set KEY VALUE`; flags and BARK_* variables override them."]
    lines += [f"{key} = {_toml_value(value)}" for key, value in sorted(values.items())]
    with atomic_open(path, "w", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n")
    return path


def set_value(key: str, raw: str) -> Path:
    path = config_path()
    values = read_file(path)
    values[key] = parse(key, raw, str(path))
    if key == "voice":
        from ..voices.library import resolve_voice

        # Checked when set, not when read: a voice removed later fails where it is used, with its own message.
        resolve_voice(values[key])
    return write_file(values, path)


def unset_value(key: str) -> Path:
    path = config_path()
    values = read_file(path)
    _kind(key, str(path))
    values.pop(key, None)
    return write_file(values, path)


def default_map(commands: dict[str, list[str]]) -> dict[str, dict[str, object]]:
    """click's ``default_map``: for each command, the configured values of the options it has."""
    values = {key: s.value for key, s in settings().items()}
    return {name: {k: values[k] for k in params if k in values} for name, params in commands.items()}
