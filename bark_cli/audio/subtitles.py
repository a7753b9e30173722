"""Subtitles (SRT, WebVTT) and the JSON manifest of a rendering: one cue per segment, at exact sample offsets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..constants import SAMPLE_RATE
from ..errors import OutputError
from ..files import atomic_open, check_writable
from ..voices.voice import FIRST_SEGMENT_VOICE

SUBTITLE_FORMATS = (".srt", ".vtt")


@dataclass(frozen=True)
class Cue:
    start: int  # sample offset in the output audio
    end: int
    text: str


def check_subtitles(path: Path) -> None:
    if path.suffix.lower() not in SUBTITLE_FORMATS:
        raise OutputError(f"--subtitles {path}: use a .srt or .vtt file name")
    check_writable(path)


def _timestamp(samples: int, separator: str) -> str:
    ms = round(samples * 1000 / SAMPLE_RATE)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    seconds, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{ms:03d}"


def format_subtitles(cues: list[Cue], vtt: bool) -> str:
    separator = "." if vtt else ","
    blocks = ["WEBVTT\n"] if vtt else []
    for number, cue in enumerate(cues, 1):
        timing = f"{_timestamp(cue.start, separator)} --> {_timestamp(cue.end, separator)}"
        blocks.append(f"{number}\n{timing}\n{cue.text}\n")
    return "\n".join(blocks)


def write_subtitles(path: Path, spans: list[tuple[int, int]], texts: list[str]) -> None:
    """One cue per segment: ``texts[i]`` over the samples ``spans[i]`` of the output."""
    cues = [Cue(start, end, text) for (start, end), text in zip(spans, texts)]
    with atomic_open(path, "w", encoding="utf-8") as stream:
        stream.write(format_subtitles(cues, vtt=path.suffix.lower() == ".vtt"))


def write_manifest(path: Path, manifest: dict) -> None:
    with atomic_open(path, "w", encoding="utf-8") as stream:
        json.dump(manifest, stream, ensure_ascii=False, indent=2)
        stream.write("\n")


def build_manifest(
    output: Path, model: str, voice: str | None, segments, spans: list[tuple[int, int]], seeds: list[int],
    checks: list[dict] | None = None,
) -> dict:
    """Each segment's text, start and end (seconds), seed and voice; the first segment sets the voice
    of the others when no voice was given. ``checks``: each segment's quality gate results (its takes,
    the checks that still fail, the measures), merged into its entry; ``seeds`` are the kept takes'."""
    entries = []
    for i, (segment, (start, end), seed) in enumerate(zip(segments, spans, seeds)):
        own_voice = voice if voice is not None else (None if i == 0 else FIRST_SEGMENT_VOICE)
        entries.append(
            {
                "index": i,
                "text": segment.text,
                "start": start / SAMPLE_RATE,
                "end": end / SAMPLE_RATE,
                "seed": seed,
                "voice": own_voice,
                "tokens": segment.tokens,
                **(checks[i] if checks else {}),
            }
        )
    seconds = spans[-1][1] / SAMPLE_RATE if spans else 0.0
    return {"output": str(output), "model": model, "sample_rate": SAMPLE_RATE, "seconds": seconds, "segments": entries}
