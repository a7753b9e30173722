"""How an option is declared once, and everything read from that declaration.

An option is a field of a frozen options dataclass (options.py) whose metadata is a `Spec`: its flag and
help, the values it allows, and where else it reaches:

- ``config``: a key of the config file and a ``BARK_*`` variable (`bark config`);
- ``item``: a key a JSONL item of `bark batch` may override;
- ``key``: it changes what is generated or written, so it is part of the cache keys (segment codes, and
  `bark batch`'s record of each output).

The CLI's parameters (cli/parameters.py), the config keys and their types (cli/settings.py), the JSONL
overrides (batch/inputs.py), validation (`validate`, here) and the cache keys (`key_values`) all read it.
The field's name is the flag without dashes, the config key, the JSONL key and the keyword argument.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidOptionError

SPEC = "bark_cli.spec"  # the metadata key of a field's Spec


@dataclass(frozen=True)
class Spec:
    help: str  # one line, shown by --help
    panel: str | None = None  # --help section (None: the command's main "Options")
    flag: str | None = None  # the long flag, when it is not --name-with-dashes
    short: str | None = None  # a one-letter flag too ("-v" for --voice, as espeak-ng and edge-tts have it)
    low: float | None = None  # numbers: the smallest value allowed
    high: float | None = None  # numbers: the largest value allowed
    low_open: bool = False  # numbers: ``low`` itself is not allowed
    choices: tuple[str, ...] | None = None  # the only values allowed
    pattern: str | None = None  # a regular expression the whole value must match ...
    expected: str | None = None  # ... and how to say so ("auto, cpu, cuda, cuda:N or mps")
    config: bool = True  # a config-file key and a BARK_* variable
    item: bool = False  # a JSONL item may override it (bark batch)
    key: bool = False  # changes the output: part of the cache keys
    complete: str | None = None  # a shell-completion source of cli/parameters.py ("voices")
    metavar: str | None = None  # the value's placeholder in --help (default: from the type or the choices)


def option(default: Any, help: str, **spec: Any) -> Any:
    """A dataclass field declaring one option (see `Spec` for the keywords)."""
    return field(default=default, metadata={SPEC: Spec(help, **spec)})


@dataclass(frozen=True)
class Declared:
    """One option as read back from its dataclass: name, value type, whether None is allowed, default."""

    name: str
    kind: type  # bool, int, float or str
    optional: bool  # None is a value (the option is unset)
    default: Any
    spec: Spec
    group: type  # the options dataclass it belongs to

    @property
    def flag(self) -> str:
        return self.spec.flag or "--" + self.name.replace("_", "-")


def declared(cls: type) -> list[Declared]:
    """The options declared by the dataclass ``cls``, in order."""
    hints = typing.get_type_hints(cls)
    found = []
    for f in dataclasses.fields(cls):
        if SPEC not in f.metadata:
            continue
        kind, optional = hints[f.name], False
        if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
            args = [a for a in typing.get_args(kind) if a is not type(None)]
            kind, optional = args[0], True
        found.append(Declared(f.name, kind, optional, f.default, f.metadata[SPEC], cls))
    return found


def _or_list(values) -> str:
    values = [str(v) for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def _bound(value: float) -> str:
    return f"{value:.4g}"


def coerce(option: Declared, value: Any, label: str | None = None) -> Any:
    """``value`` checked against ``option``'s declaration (an int where a float goes becomes a float);
    InvalidOptionError names ``label`` (default: the flag) and what is allowed."""
    label = label or option.flag
    spec = option.spec
    if value is None:
        if option.optional:
            return None
        raise InvalidOptionError(f"{label} needs a value")
    if option.kind is bool:
        if not isinstance(value, bool):
            raise InvalidOptionError(f"{label} must be true or false, got {value!r}")
        return value
    if option.kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidOptionError(f"{label} must be a whole number, got {value!r}")
        if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
            span = f"from {spec.low:g} to {spec.high:g}" if spec.high is not None else f"of at least {spec.low:g}"
            raise InvalidOptionError(f"{label} must be a whole number {span}, got {value!r}")
        return value
    if option.kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidOptionError(f"{label} must be a number, got {value!r}")
        value = float(value)
        low_ok = spec.low is None or value > spec.low or (value == spec.low and not spec.low_open)
        if not low_ok or (spec.high is not None and value > spec.high):
            low = "(-inf" if spec.low is None else ("(" if spec.low_open else "[") + _bound(spec.low)
            high = "inf)" if spec.high is None else _bound(spec.high) + "]"
            raise InvalidOptionError(f"{label} must be in {low}, {high}, got {value:g}")
        return value
    if not isinstance(value, str):
        raise InvalidOptionError(f"{label} must be text, got {value!r}")
    if spec.choices is not None and value not in spec.choices:
        raise InvalidOptionError(f"{label} must be {_or_list(spec.choices)}, got {value!r}")
    if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
        raise InvalidOptionError(f"{label} must be {spec.expected}, got {value!r}")
    return value


def validate(options: Any) -> None:
    """Check every declared field of the dataclass instance ``options`` (called by its __post_init__);
    ints given for float options are stored as floats."""
    for option in declared(type(options)):
        value = coerce(option, getattr(options, option.name))
        object.__setattr__(options, option.name, value)


def key_values(options: Any) -> dict[str, Any]:
    """The fields of ``options`` declared with ``key``: what a cache key must hold of them."""
    return {o.name: getattr(options, o.name) for o in declared(type(options)) if o.spec.key}


def build(cls: type, values: dict[str, Any]) -> Any:
    """An options dataclass from ``values`` (a command's parameters): field, flag and keyword share a name."""
    return cls(**{o.name: values[o.name] for o in declared(cls) if o.name in values})
