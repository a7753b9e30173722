"""Finding voices by name: files, the user's saved voices, and the presets shipped with the package.

Resolution order for ``--voice NAME``: an existing file path (a Bark ``.npz``, or the transformers
layout ``..._semantic_prompt.npy`` with its coarse and fine siblings); a voice the user saved (in the
platformdirs user data dir); a shipped preset (``v2/en_speaker_6``, ``en_speaker_6``, ``announcer``).
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..constants import CODEC_FRAME_RATE, LANGUAGES
from ..errors import InvalidOptionError, VoiceError
from ..files import atomic_open, check_writable
from .voice import VOICE_KEYS, Voice, load_voice_array, load_voice_file, validate_voice

log = logging.getLogger("bark_cli")

# Matched whole (fullmatch: "$" alone would let a trailing newline through).
PRESET_LANGUAGE = re.compile(r"(?:v2/)?([a-z]{2})_speaker_\d+")
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
TRANSFORMERS_SUFFIX = "_semantic_prompt.npy"


@dataclass(frozen=True)
class VoiceInfo:
    name: str
    language: str | None  # two-letter code, None when unknown (user voices)
    source: str  # "shipped" or "user"
    seconds: float  # length of the voice's audio prompt
    path: Path

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "language": self.language,
            "source": self.source,
            "seconds": round(self.seconds, 2),
            "path": str(self.path),
        }


def user_voice_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("bark-cli")) / "voices"


def preset_dir() -> Path:
    return Path(str(resources.files("bark_cli.voices") / "presets"))


def _shipped() -> dict[str, Path]:
    root = preset_dir()
    return {p.relative_to(root).with_suffix("").as_posix(): p for p in sorted(root.rglob("*.npz"))}


def _user() -> dict[str, Path]:
    root = user_voice_dir()
    return {p.stem: p for p in sorted(root.glob("*.npz"))} if root.is_dir() else {}


def voice_names(presets: bool = True) -> list[str]:
    """Names usable as --voice NAME: the user's voices, then the shipped presets (unless not ``presets``)."""
    return list(_user()) + (list(_shipped()) if presets else [])


def voice_language(name: str) -> str | None:
    if name == "announcer":
        return "en"
    match = PRESET_LANGUAGE.fullmatch(name)
    return match.group(1) if match else None


def load_transformers_layout(path: Path) -> Voice:
    """The layout of transformers' ``speaker_embeddings/``: three ``.npy`` files sharing a prefix."""
    prefix = str(path)[: -len(TRANSFORMERS_SUFFIX)] if str(path).endswith(TRANSFORMERS_SUFFIX) else str(path)
    arrays = {}
    for key in VOICE_KEYS:
        part = Path(f"{prefix}_{key}.npy")
        if not part.is_file():
            raise VoiceError(f"voice {prefix}: {part.name} is missing (transformers layout needs all three .npy files)")
        arrays[key] = load_voice_array(part, key)
    return validate_voice(prefix, arrays)


def resolve_voice(name: str | Path) -> Voice:
    """The voice called ``name`` (see module docstring for the order); VoiceError with close matches."""
    name = str(name)
    path = Path(name).expanduser()
    if path.is_file():
        return load_transformers_layout(path) if name.endswith(".npy") else load_voice_file(path)
    if Path(name + TRANSFORMERS_SUFFIX).is_file():
        return load_transformers_layout(path)
    if name.endswith((".npz", ".npy")):
        raise VoiceError(f"voice file {name} does not exist")
    user, shipped = _user(), _shipped()
    for source in (user, shipped):
        if name in source:
            return load_voice_file(source[name])
    close = difflib.get_close_matches(name, list(user) + list(shipped), n=4, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `bark voices list` shows them all"
    raise VoiceError(f"no voice named {name!r} (not a file, a saved voice or a shipped preset){hint}")


def voice_file(name: str) -> Path | None:
    """The file ``name`` names as a voice (or the prefix of transformers' layout), made absolute so that it
    names the same file from any folder; None for a saved voice or a preset."""
    path = Path(name).expanduser()
    if path.is_file() or Path(name + TRANSFORMERS_SUFFIX).is_file():
        return Path(os.path.abspath(path))
    return None


def voice_info(name: str, path: Path, source: str) -> VoiceInfo:
    voice = load_voice_file(path)
    return VoiceInfo(name, voice_language(name), source, voice.fine_prompt.shape[1] / CODEC_FRAME_RATE, path)


def list_voices(language: str | None = None) -> list[VoiceInfo]:
    """The user's voices, then the shipped presets; ``language`` filters by two-letter code."""
    if language is not None and language not in LANGUAGES:
        raise InvalidOptionError(f"unknown language {language!r}; Bark's languages are {', '.join(LANGUAGES)}")
    found = []
    for name, path in _user().items():
        try:
            found.append(voice_info(name, path, "user"))
        except VoiceError as exc:  # one damaged file in the user's folder hides none of the others
            log.warning("warning: skipping saved voice %r: %s", name, exc)
    found += [voice_info(n, p, "shipped") for n, p in _shipped().items()]
    return [v for v in found if language is None or v.language == language]


def find_voice_info(name: str) -> VoiceInfo:
    for source, voices in (("user", _user()), ("shipped", _shipped())):
        if name in voices:
            return voice_info(name, voices[name], source)
    resolve_voice(name)  # raises with the closest matches, or loads a file path
    return voice_info(name, Path(name), "file")


def check_voice_output(path: Path) -> None:
    """Fail before generating if ``path`` cannot take a saved voice."""
    if path.suffix != ".npz":
        raise InvalidOptionError(f"--save-voice {path}: a voice file must end in .npz")
    check_writable(path, "--save-voice: cannot write")


def save_voice(voice: Voice, path: Path) -> None:
    """Write ``voice`` as a Bark ``.npz`` atomically (validated first: a saved voice always loads)."""
    arrays = {key: getattr(voice, key) for key in VOICE_KEYS}
    if voice.semantic_prompt.size == 0 or voice.fine_prompt.shape[1] == 0:
        raise VoiceError(f"cannot save voice {path}: the generation produced no speech to take a voice from")
    validate_voice(str(path), arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as stream:
        np.savez(stream, **arrays)


def import_voice(source: Path, name: str, force: bool = False) -> Path:
    """Validate ``source`` and keep it among the user's voices as ``name``."""
    if not USER_NAME.fullmatch(name):
        raise VoiceError(f"voice name {name!r}: use letters, digits, '.', '_' or '-' (up to 64 characters)")
    if name in _shipped():
        raise VoiceError(f"voice name {name!r} is a shipped preset; choose another name")
    voice = resolve_voice(source)
    target = user_voice_dir() / f"{name}.npz"
    if target.exists() and not force:
        raise VoiceError(f"a saved voice named {name!r} already exists; use --force to replace it")
    save_voice(voice, target)
    return target


def remove_voice(name: str) -> Path:
    user = _user()
    if name not in user:
        if name in _shipped():
            raise VoiceError(f"{name!r} is a shipped preset; only saved voices can be removed")
        raise VoiceError(f"no saved voice named {name!r}; `bark voices list` shows them")
    user[name].unlink()
    return user[name]
