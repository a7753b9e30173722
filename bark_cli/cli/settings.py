"""User defaults: built-in < TOML file in the user config dir < BARK_* environment < command-line flags.

The keys are the options declared with ``config`` in options.py, by their names (``text_temp`` is
``--text-temp`` and ``BARK_TEXT_TEMP``), with their types and rules. The CLI feeds the merged values to
click as each command's ``default_map``, so a flag always wins.
"""

from __future__ import annotations

import difflib
import logging
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import BarkError, ConfigError
from ..files import atomic_open
from ..options import GROUPS
from ..schema import Declared, coerce, declared

ENV_PREFIX = "BARK_"
# BARK_* variables that are not config keys: the traceback switch, and the test suite's regenerate switch.
OTHER_VARIABLES = ("BARK_DEBUG", "BARK_UPDATE_GENERATED")
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}

log = logging.getLogger("bark_cli")


def config_options() -> dict[str, Declared]:
    """Every config key, in declaration order, with its declaration."""
    return {o.name: o for group in GROUPS for o in declared(group) if o.spec.config}


@dataclass(frozen=True)
class Setting:
    key: str
    value: object
    source: str  # "built-in", the config file's path, or "env BARK_X"


def config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("bark-cli")) / "config.toml"


def _option(key: str, where: str) -> Declared:
    options = config_options()
    if key not in options:
        raise ConfigError(f"unknown key {key!r} in {where}; known keys: {', '.join(options)}")
    return options[key]


def parse(key: str, raw: str, where: str) -> object:
    """The typed value of ``raw`` text (from the environment or `bark config set`) for ``key``."""
    kind = _option(key, where).kind
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


def check(key: str, value: object, where: str) -> object:
    """Validate one value with the same rules as the flag; ConfigError names the key and where it came from."""
    try:
        return coerce(_option(key, where), value, label=key)
    except ConfigError:
        raise
    except BarkError as exc:
        raise ConfigError(f"{key} in {where}: {str(exc).removeprefix(key + ' ')}") from None


def read_raw(path: Path) -> dict[str, object]:
    """The config file's keys and values as TOML gives them, unchecked (what `bark config set` and `unset`
    edit: a bad value elsewhere in the file must not stop them from repairing it)."""
    if not path.exists():
        return {}
    if not path.is_file():
        raise ConfigError(f"config file {path} is not a file (a directory?): remove it or put the TOML file there")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


def read_file(path: Path | None = None) -> dict[str, object]:
    path = path or config_path()
    return {key: check(key, value, str(path)) for key, value in read_raw(path).items()}


def settings(path: Path | None = None) -> dict[str, Setting]:
    """Every key set by the file or the environment, with where its value came from (env beats file)."""
    path = path or config_path()
    found = {k: Setting(k, v, str(path)) for k, v in read_file(path).items()}
    for key in config_options():
        variable = ENV_PREFIX + key.upper()
        raw = os.environ.get(variable)
        if raw is not None and raw != "":
            found[key] = Setting(key, parse(key, raw, f"env {variable}"), f"env {variable}")
    _warn_unknown_variables()
    return found


def _warn_unknown_variables() -> None:
    """A warning for each BARK_* variable that is no key (a typo would otherwise be ignored in silence).
    Not an error, as an unknown key in the file is: the environment is shared with other programs."""
    known = [ENV_PREFIX + key.upper() for key in config_options()]
    for variable in sorted(v for v in os.environ if v.startswith(ENV_PREFIX)):
        if variable not in known and variable not in OTHER_VARIABLES:
            close = difflib.get_close_matches(variable, known, n=1, cutoff=0.7)
            hint = f"did you mean {close[0]}?" if close else "the keys are those of `bark config show`"
            log.warning("warning: unknown variable %s is ignored; %s", variable, hint)


def built_in() -> dict[str, object]:
    """Every key's built-in default (what `bark config show` reports when nothing is set)."""
    return {key: option.default for key, option in config_options().items()}


def write_file(values: dict[str, object], path: Path | None = None) -> Path:
    import tomli_w  # a TOML writer: any value (a newline in a model path too) reads back as it was

    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# bark-cli defaults: `bark config set KEY VALUE`; flags and BARK_* variables override them.\n"
    with atomic_open(path, "w", encoding="utf-8") as stream:
        stream.write(header + tomli_w.dumps(dict(sorted(values.items()))))
    return path


def set_value(key: str, raw: str) -> Path:
    """Set ``key`` in the config file; the file's other keys are kept as they are, even bad ones."""
    path = config_path()
    values = read_raw(path)
    values[key] = parse(key, raw, str(path))
    if key == "voice":
        from ..voices.library import resolve_voice, voice_file

        # Checked when set, not when read: a voice removed later fails where it is used, with its own message.
        resolve_voice(values[key])
        file = voice_file(values[key])
        if file is not None:  # a relative path would name another file, or none, from another folder
            values[key] = str(file)
    return write_file(values, path)


def unset_value(key: str) -> Path:
    """Remove ``key`` from the config file: any key it holds (an unknown one too), or a known key."""
    path = config_path()
    values = read_raw(path)
    if key not in values:
        _option(key, str(path))
    values.pop(key, None)
    return write_file(values, path)


def default_map(commands: dict[str, list[str]]) -> dict[str, dict[str, object]]:
    """click's ``default_map``: for each command, the configured values of the options it has."""
    values = {key: s.value for key, s in settings().items()}
    return {name: {k: values[k] for k in params if k in values} for name, params in commands.items()}
