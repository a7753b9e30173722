"""`bark say` end to end on the tiny checkpoint: files, reproducibility, and every error's line and code."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from bark_cli.cli.app import app
from bark_cli.constants import SAMPLE_RATE, SAMPLES_PER_FRAME
from bark_cli.errors import WeightsNotFoundError

TEXT = "Hello, my name is Suno. And, uh — and I like pizza. [laughs]"


@pytest.fixture
def say(tiny_checkpoint):
    runner = CliRunner()

    def run(*args, model=str(tiny_checkpoint)):
        return runner.invoke(app, ["say", *args, "--model", model])

    return run


def test_say_writes_24khz_mono_wav_of_whole_frames(say, synthesizer, tmp_path):
    from bark_cli.options import GenerationOptions
    from bark_cli.pipeline import Segment, segment_seeds

    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "hello.wav"
    result = say(TEXT, "-o", str(out), "--seed", "7", "--max-seconds", "2")
    assert result.exit_code == 0, result.output
    info = soundfile.info(out)
    assert (info.samplerate, info.channels, info.subtype) == (SAMPLE_RATE, 1, "PCM_16")
    [seed] = segment_seeds(7, [TEXT])
    [expected] = synthesizer.generate([Segment(TEXT, seed=seed)], GenerationOptions(max_seconds=2))
    assert info.frames == expected.fine.shape[1] * SAMPLES_PER_FRAME > 0
    assert [p.name for p in out.parent.iterdir()] == ["hello.wav"], "no temporary file left behind"


def test_same_seed_same_bytes_other_seed_other_audio(say, tmp_path):
    paths = [tmp_path / name for name in ("a.wav", "b.wav", "c.wav")]
    for path, seed in zip(paths, ("11", "11", "12")):
        assert say("i like pizza", "-o", str(path), "--seed", seed, "--max-seconds", "2", "--no-cache").exit_code == 0
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_voice_and_options(say, tiny_voice, tmp_path):
    out = tmp_path / "fr.flac"
    result = say(
        "Bonjour !", "--voice", str(tiny_voice), "--text-temp", "0.6", "--waveform-temp", "0.7",
        "--fine-temp", "0", "--top-k", "50", "--top-p", "0.9", "--max-seconds", "2", "--seed", "7", "-o", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    audio, rate = soundfile.read(out)
    assert rate == SAMPLE_RATE and 0 < len(audio) <= 2 * SAMPLE_RATE + SAMPLES_PER_FRAME
    assert np.isfinite(audio).all()


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["   ", "-o", "x.wav"], 2, "the text is empty"),
        (["hi", "-o", "x.wav", "--text-temp", "-1"], 2, "--text-temp must be in [0, 5]"),
        (["hi", "-o", "x.wav", "--waveform-temp", "nan"], 2, "--waveform-temp must be a number"),
        (["hi", "-o", "x.wav", "--fine-temp", "9"], 2, "--fine-temp must be in [0, 5]"),
        (["hi", "-o", "x.wav", "--top-p", "0"], 2, "--top-p must be in (0, 1]"),
        (["hi", "-o", "x.wav", "--top-k", "0"], 2, "--top-k must be a whole number"),
        (["hi", "-o", "x.wav", "--min-eos-p", "2"], 2, "--min-eos-p must be in (0, 1]"),
        (["hi", "-o", "x.wav", "--max-seconds", "60"], 2, "--max-seconds must be in (0, 15.39]"),
        (["hi", "-o", "x.wav", "--seed", "-3"], 2, "--seed must be a whole number"),
        (["hi", "-o", "x.wav", "--device", "tpu"], 2, "--device must be auto, cpu, cuda"),
        (["hi", "-o", "x.wav", "--device", "cuda"], 5, "--device cuda: no CUDA GPU"),
        (["hi", "-o", "x.wav", "--voice", "missing.npz"], 3, "voice file missing.npz does not exist"),
        (["hi", "-o", "x.mp4"], 2, "unknown audio extension '.mp4'"),
        (["hi", "-o", "x.out", "--format", "aiff"], 2, "--format must be wav, flac, ogg or mp3, got 'aiff'"),
        (["hi", "-o", "x.flac", "--float"], 2, "--float writes 32-bit float WAV"),
        (["hi", "-o", "x.wav", "--raw"], 2, "--raw streams PCM to stdout: leave out -o"),
        (["hi", "-o", "no/such/dir/x.wav"], 6, "directory no/such/dir does not exist"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code(say, tmp_path, monkeypatch, args, code, message):
    monkeypatch.chdir(tmp_path)
    if "--device" in args and "cuda" in args:
        pytest.importorskip("torch")
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    result = say(*args)
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bark: error: ") and message in lines[0], result.output
    assert not list(tmp_path.glob("*.wav")) and not list(tmp_path.glob(".*part"))


def test_unreadable_voice_file(say, tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("not a voice")
    result = say("hi", "-o", str(tmp_path / "x.wav"), "--voice", str(bad))
    assert result.exit_code == 3 and "is not a Bark .npz voice" in result.output


def test_missing_weights_is_one_sentence(say, tmp_path):
    result = say("hi", "-o", str(tmp_path / "x.wav"), model="suno/bark-small")
    assert result.exit_code == 4
    [line] = result.output.strip().splitlines()
    assert "not in the local Hugging Face cache" in line and "--model DIR" in line
    result = say("hi", "-o", str(tmp_path / "x.wav"), model=str(tmp_path))
    assert result.exit_code == 4 and "no config.json" in result.output


def test_failed_write_keeps_old_file_and_leaves_no_partial(tmp_path, monkeypatch):
    from bark_cli.audio import formats as audio
    from bark_cli.errors import OutputError

    out = tmp_path / "old.wav"
    out.write_bytes(b"old")

    def disk_full(fd):  # the disk fills up: the data written so far cannot reach it
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("bark_cli.files.os.fsync", disk_full)
    with pytest.raises(OutputError, match="No space left on device"):
        audio.write_audio(out, np.zeros(320, dtype=np.float32), audio.audio_format(out))
    assert out.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["old.wav"]


def test_outputs_get_the_usual_file_mode(tmp_path):
    import os

    from bark_cli.audio import formats as audio

    out = tmp_path / "mode.wav"
    audio.write_audio(out, np.zeros(320, dtype=np.float32), audio.audio_format(out))
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_help_does_not_import_torch():
    code = "import sys, bark_cli.cli.app; sys.exit('torch' in sys.modules or 'transformers' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    result = subprocess.run([sys.executable, "-m", "bark_cli", "say", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--waveform-temp" in result.stdout


def test_say_imports_neither_transformers_nor_dynamo(tiny_checkpoint, tmp_path):
    """Each costs about a second of every `bark say` process, which a cron job or a shell pipeline pays on
    every call (torch._dynamo came in through nn.Embedding's random init on the meta device)."""
    code = (
        "import sys\n"
        "from bark_cli.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    print(exc.code, file=sys.stderr)\n"
        "print([m for m in ('transformers', 'torch._dynamo', 'torch._inductor') if m in sys.modules], file=sys.stderr)\n"
    )
    args = ["say", "hello my name is suno", "-o", str(tmp_path / "x.wav"), "--model", str(tiny_checkpoint), "--no-cache"]
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert result.stderr.strip().splitlines()[-2:] == ["0", "[]"], result.stderr


def test_debug_variable_shows_traceback(say, tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("BARK_DEBUG", "1")
    out = tmp_path / "x.wav"
    # A checkpoint directory whose weights are unreadable: an error from deep in loading.
    import shutil

    (tmp_path / "ckpt").mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt"):
        shutil.copy(tiny_checkpoint / name, tmp_path / "ckpt" / name)
    (tmp_path / "ckpt" / "config.json").write_text("{not json")
    result = say("hi", "-o", str(out), model=str(tmp_path / "ckpt"))
    assert isinstance(result.exception, WeightsNotFoundError) and result.exception.__cause__ is not None
    assert not out.exists()


def test_int8_weights_run_on_cpu(say, tmp_path):
    out = tmp_path / "int8.wav"
    result = say("hello my name is suno", "-o", str(out), "--quantize", "int8", "--seed", "1", "--max-seconds", "2", "--verbose")
    assert result.exit_code == 0, result.output
    assert "int8 weights" in result.output
    audio, _ = soundfile.read(out)
    assert len(audio) > 0 and np.isfinite(audio).all()
    bad = say("hi", "-o", str(tmp_path / "x.wav"), "--quantize", "int4")
    assert bad.exit_code == 2 and "--quantize must be int8" in bad.output


def test_half_precision_and_cpu_offload_run_on_cpu(say, tmp_path):
    out = tmp_path / "half.wav"
    result = say("hello my name is suno", "-o", str(out), "--half", "--cpu-offload", "--seed", "1", "--max-seconds", "2", "--verbose")
    assert result.exit_code == 0, result.output
    assert "dtype bfloat16, cpu offload" in result.output
    audio, _ = soundfile.read(out)
    assert len(audio) > 0 and np.isfinite(audio).all()


def test_half_with_int8_quantizes_the_semantic_and_coarse_networks(tiny_checkpoint):
    """--half --quantize int8 once packed every linear for bf16 first, and int8 was silently never applied."""
    from torch import nn

    from bark_cli.options import RuntimeOptions
    from bark_cli.runtime.cpu.linears import Int8Linear, PackedLinear, can_prepack
    from bark_cli.runtime.loading import load_networks

    networks = load_networks(RuntimeOptions(model=str(tiny_checkpoint), device="cpu", half=True, quantize="int8"))
    kinds = (nn.Linear, PackedLinear, Int8Linear)
    for net in (networks.semantic, networks.coarse):
        linears = [m for m in net.modules() if isinstance(m, kinds)]
        assert linears and all(isinstance(m, Int8Linear) for m in linears)
    fine = [m for m in networks.fine.modules() if isinstance(m, kinds)]
    assert all(isinstance(m, PackedLinear if can_prepack() else nn.Linear) for m in fine)
