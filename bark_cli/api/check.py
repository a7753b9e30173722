"""`check`: the quality gate's audio checks on a file rendered earlier, so a finished book can be audited
without rendering it again.

Given an audio file, the whole file is one span (with ``text``, its duration is checked against the text's
estimate). Given the JSON manifest of `bark say --manifest`, each segment's span of its output is checked
against that segment's text. Only the audio-side checks run: the runaway and loop checks need the semantic
tokens, which a file does not keep.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputFileError
from ..quality.checks import Report, check as check_audio


@dataclass(frozen=True)
class Span:
    """One checked stretch of the file: a segment of a manifest, or the whole file."""

    index: int  # 0-based
    start: float  # seconds
    end: float
    text: str | None
    report: Report

    def to_json(self) -> dict:
        return {"index": self.index, "start": self.start, "end": self.end, "text": self.text, **self.report.to_json()}


@dataclass(frozen=True)
class CheckResult:
    audio: Path
    spans: list[Span]

    @property
    def flagged(self) -> list[Span]:
        return [s for s in self.spans if not s.report.passed]

    def to_json(self) -> dict:
        return {"audio": str(self.audio), "spans": [s.to_json() for s in self.spans], "flagged": len(self.flagged)}


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """(mono float32 samples (N,), sample rate) of an audio file; InputFileError naming it otherwise."""
    import soundfile

    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)  # (N, channels)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as exc:
        raise InputFileError(f"cannot read audio {path}: {exc}") from exc
    return data.mean(axis=1), rate


def _read_manifest(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("segments"), list) or "output" not in data:
            raise ValueError("not a bark say manifest (no output or segments)")
        for entry in data["segments"]:
            timed = all(isinstance(entry.get(k), (int, float)) for k in ("start", "end"))
            if not timed or not isinstance(entry.get("text"), str):
                raise ValueError("a segment lacks its start, end or text")
        return data
    except OSError as exc:
        raise InputFileError(f"cannot read manifest {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # not UTF-8, not JSON, or the wrong shape
        raise InputFileError(f"manifest {path}: {exc}") from exc


def _manifest_audio(manifest: Path, output: str) -> Path:
    """The audio a manifest names: as written (relative to where bark ran), else beside the manifest."""
    named = Path(output)
    if output == "-":
        raise InputFileError(f"manifest {manifest}: its output went to standard output; give the audio file instead")
    if named.is_file() or named.is_absolute():
        return named
    return manifest.parent / named


def check(path: Path, text: str | None = None) -> CheckResult:
    """Check ``path``: an audio file (with its ``text``, if given) or a `bark say` JSON manifest."""
    if path.suffix.lower() == ".json":
        if text is not None:
            raise InputFileError("--text goes with an audio file; a manifest holds each segment's text")
        data = _read_manifest(path)
        audio_path = _manifest_audio(path, str(data["output"]))
        audio, rate = read_audio(audio_path)
        spans = []
        for index, entry in enumerate(data["segments"]):
            part = audio[round(entry["start"] * rate) : round(entry["end"] * rate)]
            report = check_audio(part, entry["text"], sample_rate=rate)
            spans.append(Span(index, entry["start"], entry["end"], entry["text"], report))
        return CheckResult(audio_path, spans)
    audio, rate = read_audio(path)
    seconds = len(audio) / rate
    return CheckResult(path, [Span(0, 0.0, seconds, text, check_audio(audio, text, sample_rate=rate))])
