"""Where `bark batch` writes each item's files, checked for every item before anything renders.

An item writes its audio and, with --subtitles, a subtitle file beside it. Each of those paths, symlinks
resolved, must land inside the output directory, away from bark's own files (the manifest, the state in
OUT_DIR/.bark/) and the input files, and apart from every other item's files (``a.srt`` against the
subtitles of ``a.wav``; ``a.wav`` against ``a.wav/b.wav``). An item that breaks a rule fails alone, with
the reason; the first item to claim a path keeps it.

Each output also gets a state name: the file name of its record and its lock in OUT_DIR/.bark/, one per
real output file and never shared by two.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import OutputError
from ..files import NAME_MAX
from .inputs import Item

# Names that cannot be a portable file name, or that would break a log line: control characters, "\".
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\\]")
_STATE_SUFFIX_BYTES = len(".json")  # and ".lock": the longer suffix a state name gets


@dataclass(frozen=True)
class ItemFiles:
    output: Path  # the audio file (real path)
    subtitles: Path | None  # its subtitles (real path), with --subtitles
    state: str  # the file name (without suffix) of its record and lock in OUT_DIR/.bark/


def state_name(relative: str) -> str:
    """A flat file name for the output at ``relative`` (a real path under the output directory): "%" and
    "/" escaped, so that two outputs never share one; a digest (which no escaped name can equal: it holds
    "%H") when that would be too long for a file name."""
    name = relative.replace("%", "%25").replace("/", "%2F")
    if len(os.fsencode(name)) + _STATE_SUFFIX_BYTES > NAME_MAX:
        name = "%H" + hashlib.sha256(os.fsencode(relative)).hexdigest()
    return name


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _inside(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


class FilePlan:
    """The files of a run's items, claimed item by item (see the module docstring)."""

    def __init__(self, out_dir: Path, state_dir: Path, reserved: dict[Path, str]):
        """``reserved``: other paths no item may write (manifest, inputs), with what each one is."""
        self.root = _real(out_dir)
        self.state_dir = _real(state_dir)
        self.reserved = {_real(path): what for path, what in reserved.items()}
        self.files: dict[Path, str] = {}  # claimed file -> whose ("item 3's output")
        self.dirs: dict[Path, str] = {}  # directories the claimed files need -> whose

    def _check(self, path: Path) -> None:
        """ValueError saying why no item may write ``path`` now (phrased to follow the file's name)."""
        if not _inside(path, self.root) or path == self.root:
            raise ValueError("would land outside --out-dir")
        if _inside(path, self.state_dir):
            raise ValueError("would overwrite bark's state in OUT_DIR/.bark")
        if path in self.reserved:
            raise ValueError(f"would overwrite {self.reserved[path]}")
        if path in self.files:
            raise ValueError(f"is also {self.files[path]}")
        if path in self.dirs:
            raise ValueError(f"is a directory holding {self.dirs[path]}")
        for parent in self._parents(path):
            if parent in self.files:
                raise ValueError(f"would need {self.files[parent]} to be a directory")

    def _parents(self, path: Path) -> list[Path]:
        """The directories between ``path`` and the output directory."""
        return [p for p in path.parents if _inside(p, self.root) and p != self.root]

    def claim(self, item: Item, subtitles: str | None) -> ItemFiles:
        """The files of ``item``, claimed for it; ValueError saying why they cannot be (then none is)."""
        name = item.output
        if _BAD_NAME.search(name):
            raise ValueError(f"output {name!r}: control characters and '\\' are not allowed in a file name")
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"output {name!r} would land outside --out-dir")
        output = _real(self.root / relative)
        try:
            self._check(output)
        except ValueError as exc:
            raise ValueError(f"output {name!r} {exc}") from None
        captions = None
        if subtitles is not None:
            captions = output.with_suffix("." + subtitles)
            try:
                if captions == output:
                    raise ValueError("would overwrite the audio itself")
                self._check(captions)
            except ValueError as exc:
                raise ValueError(f"output {name!r}: its subtitles {captions.name} {exc}") from None
        for path, whose in ((output, "output"), (captions, "subtitles")):
            if path is not None:
                self.files[path] = f"item {item.number}'s {whose}"
                for parent in self._parents(path):
                    self.dirs.setdefault(parent, f"item {item.number}'s {whose}")
        return ItemFiles(output, captions, state_name(output.relative_to(self.root).as_posix()))


def state_directory(path: Path) -> None:
    """``path`` as a directory of bark's own (created if missing): a symlink or a file there is refused,
    as records and locks written through it could land anywhere."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise OutputError(f"{path} is not a directory of bark's own (a symlink or a file): remove it")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {path}: {exc.strerror or exc}") from exc


def clear_damaged(record: Path) -> None:
    """Remove whatever is at ``record`` that a file cannot be renamed over (a directory, a device)."""
    try:
        mode = record.lstat().st_mode
    except OSError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(record)
    elif not stat.S_ISREG(mode):
        record.unlink()
