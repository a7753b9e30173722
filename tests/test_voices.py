"""Voices: shipped presets, validation messages, the user's library, and save -> reuse."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from bark_cli.cli.app import app
from bark_cli.errors import VoiceError
from bark_cli.voices.library import list_voices, preset_dir, resolve_voice
from bark_cli.voices.voice import load_voice_file

LANGUAGES = "en de es fr hi it ja ko pl pt ru tr zh".split()
runner = CliRunner()


def test_every_shipped_preset_loads_and_validates():
    names = {v.name for v in list_voices()}
    expected = {f"v2/{lang}_speaker_{i}" for lang in LANGUAGES for i in range(10)}
    expected |= {f"{lang}_speaker_{i}" for lang in LANGUAGES for i in range(10)} | {"announcer"}
    assert names == expected
    for path in preset_dir().rglob("*.npz"):
        voice = load_voice_file(path)
        assert voice.coarse_prompt.shape[1] == voice.fine_prompt.shape[1] > 0
    assert (preset_dir() / "NOTICE.md").read_text().count("MIT") >= 1


@pytest.mark.parametrize("name", ["v2/en_speaker_6", "en_speaker_6", "announcer"])
def test_preset_names_resolve(name):
    assert resolve_voice(name).semantic_prompt.ndim == 1


def test_unknown_name_lists_closest_matches():
    with pytest.raises(VoiceError, match=r"did you mean .*v2/en_speaker_6"):
        resolve_voice("v2/en_speakr_6")


def _good(frames=40):
    rng = np.random.default_rng(0)
    return {
        "semantic_prompt": rng.integers(0, 10_000, 30),
        "coarse_prompt": rng.integers(0, 1024, (2, frames)),
        "fine_prompt": rng.integers(0, 1024, (8, frames)),
    }


CORRUPTIONS = {
    "missing key": (lambda a: a.pop("fine_prompt"), "lacks fine_prompt"),
    "semantic 2-D": (lambda a: a.update(semantic_prompt=np.zeros((2, 3), int)), "semantic_prompt must be a non-empty 1-D"),
    "empty semantic": (lambda a: a.update(semantic_prompt=np.zeros(0, int)), "semantic_prompt must be a non-empty 1-D"),
    "coarse 3 rows": (lambda a: a.update(coarse_prompt=np.zeros((3, 40), int)), "coarse_prompt must be 2 x T"),
    "fine 7 rows": (lambda a: a.update(fine_prompt=np.zeros((7, 40), int)), "fine_prompt must be 8 x T"),
    "lengths differ": (lambda a: a.update(fine_prompt=np.zeros((8, 39), int)), "coarse_prompt has 40 frames but fine_prompt 39"),
    "float dtype": (lambda a: a.update(coarse_prompt=np.zeros((2, 40))), "coarse_prompt holds float64 values"),
    "semantic range": (lambda a: a.update(semantic_prompt=np.full(5, 10_000)), "semantic_prompt values must be in 0..9999"),
    "negative code": (lambda a: a.update(fine_prompt=np.full((8, 40), -1)), "fine_prompt values must be in 0..1023"),
    "code range": (lambda a: a.update(coarse_prompt=np.full((2, 40), 1024)), "coarse_prompt values must be in 0..1023"),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_each_corruption_has_its_own_message(tmp_path, kind):
    arrays = _good()
    corrupt, message = CORRUPTIONS[kind]
    corrupt(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(VoiceError) as error:
        load_voice_file(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_pickled_and_non_npz_files_are_refused_without_unpickling(tmp_path):
    pickled = tmp_path / "pickled.npz"
    arrays = _good()
    arrays["semantic_prompt"] = np.array([object()], dtype=object)
    np.savez(pickled, **arrays)
    with pytest.raises(VoiceError, match="cannot be read as a Bark .npz voice"):
        load_voice_file(pickled)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(VoiceError, match="not an npz archive"):
        load_voice_file(text)


def test_transformers_layout_loads(tmp_path):
    folder = tmp_path / "speaker_embeddings" / "v2"
    folder.mkdir(parents=True)
    for key, value in _good().items():
        np.save(folder / f"en_speaker_6_{key}.npy", value)
    for name in (folder / "en_speaker_6", folder / "en_speaker_6_semantic_prompt.npy"):
        assert resolve_voice(name).fine_prompt.shape == (8, 40)
    (folder / "en_speaker_6_fine_prompt.npy").unlink()
    with pytest.raises(VoiceError, match="en_speaker_6_fine_prompt.npy is missing"):
        resolve_voice(folder / "en_speaker_6")


def test_voices_list_table_and_json():
    table = runner.invoke(app, ["voices", "list", "--lang", "de"])
    assert table.exit_code == 0
    lines = table.stdout.strip().splitlines()
    assert lines[0].split() == ["name", "language", "source", "seconds"]
    assert len(lines) == 1 + 20 and all(" de " in line for line in lines[1:])
    data = json.loads(runner.invoke(app, ["voices", "list", "--json"]).stdout)
    assert len(data) == 261
    assert {"name": "announcer", "language": "en", "source": "shipped"}.items() <= data[0].items()
    assert data[0]["seconds"] == 10.0
    shown = json.loads(runner.invoke(app, ["voices", "show", "v2/fr_speaker_1", "--json"]).stdout)
    assert shown["language"] == "fr" and shown["source"] == "shipped"


def test_voices_list_refuses_an_unknown_language():
    result = runner.invoke(app, ["voices", "list", "--lang", "xx"])
    assert result.exit_code == 2
    assert "unknown language 'xx'" in result.stderr and "de, en, es" in result.stderr


def test_config_set_voice_checks_that_the_voice_exists():
    def voice_setting():
        shown = json.loads(runner.invoke(app, ["config", "show", "--json"]).stdout)
        return next(row for row in shown if row["key"] == "voice")

    bad = runner.invoke(app, ["config", "set", "voice", "v2/en_speker_6"])
    assert bad.exit_code == 3 and "did you mean v2/en_speaker_6" in bad.stderr
    assert voice_setting()["source"] == "built-in"  # nothing written
    assert runner.invoke(app, ["config", "set", "voice", "v2/en_speaker_6"]).exit_code == 0
    assert voice_setting()["value"] == "v2/en_speaker_6"


def test_import_use_and_remove_a_user_voice(tiny_voice, tiny_checkpoint, tmp_path):
    assert runner.invoke(app, ["voices", "import", str(tiny_voice), "--name", "narrator"]).exit_code == 0
    again = runner.invoke(app, ["voices", "import", str(tiny_voice), "--name", "narrator"])
    assert again.exit_code == 3 and "already exists" in again.output
    assert runner.invoke(app, ["voices", "import", str(tiny_voice), "--name", "bad/name"]).exit_code == 3
    [mine] = [v for v in list_voices() if v.source == "user"]
    assert mine.name == "narrator" and mine.language is None
    out = tmp_path / "x.wav"
    result = runner.invoke(app, ["say", "hello", "--voice", "narrator", "--model", str(tiny_checkpoint), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["voices", "remove", "narrator"]).exit_code == 0
    removed = runner.invoke(app, ["voices", "remove", "narrator"])
    assert removed.exit_code == 3 and "no saved voice named 'narrator'" in removed.output
    shipped = runner.invoke(app, ["voices", "remove", "announcer"])
    assert shipped.exit_code == 3 and "shipped preset" in shipped.output


def test_save_voice_round_trip(tiny_checkpoint, synthesizer, tmp_path):
    from bark_cli.options import GenerationOptions
    from bark_cli.pipeline import Segment, segment_seeds

    saved, out = tmp_path / "mine.npz", tmp_path / "first.wav"
    args = ["say", "hello my name is suno", "--model", str(tiny_checkpoint), "--seed", "5", "--max-seconds", "3"]
    result = runner.invoke(app, [*args, "-o", str(out), "--save-voice", str(saved)])
    assert result.exit_code == 0, result.output
    voice = load_voice_file(saved)
    [seed] = segment_seeds(5, ["hello my name is suno"])
    [first] = synthesizer.generate([Segment("hello my name is suno", seed=seed)], GenerationOptions(max_seconds=3))
    np.testing.assert_array_equal(voice.semantic_prompt, first.semantic)
    np.testing.assert_array_equal(voice.fine_prompt, first.fine)
    np.testing.assert_array_equal(voice.coarse_prompt, first.fine[:2])
    # Reusing the saved voice is exact: the same prompt, seed and text give the same file twice.
    outputs = [tmp_path / "a.wav", tmp_path / "b.wav"]
    for path in outputs:
        assert runner.invoke(app, [*args, "--voice", str(saved), "-o", str(path), "--no-cache"]).exit_code == 0
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    bad = runner.invoke(app, [*args, "-o", str(out), "--save-voice", str(tmp_path / "v.wav")])
    assert bad.exit_code == 2 and "must end in .npz" in bad.output
    unwritable = runner.invoke(app, [*args, "-o", str(out), "--save-voice", str(tmp_path / "no" / "v.npz")])
    assert unwritable.exit_code == 6 and "does not exist" in unwritable.output


def _npz_with(path, members: dict[str, bytes]) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _npy(array) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _declaring(shape, dtype="<i8", body=b"") -> bytes:
    """A .npy whose header declares ``shape`` (the data after it is ``body`` only)."""
    import io

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": dtype, "fortran_order": False, "shape": shape})
    return b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + body


@pytest.mark.parametrize("shape", [(10**12,), (200_000_000,)], ids=["10^12 values", "200M tokens"])
def test_a_voice_declaring_huge_arrays_is_refused_before_reading(tmp_path, shape):
    """np.load allocates what a header declares: a 7 KB file could ask for terabytes (MemoryError)."""
    arrays = _good()
    path = tmp_path / "huge.npz"
    _npz_with(path, {"semantic_prompt.npy": _declaring(shape, body=bytes(7000)),
                     "coarse_prompt.npy": _npy(arrays["coarse_prompt"]), "fine_prompt.npy": _npy(arrays["fine_prompt"])})  # fmt: skip
    with pytest.raises(VoiceError, match=f"declares {shape[0]:,} values, more than the 2,994"):
        load_voice_file(path)
    result = runner.invoke(app, ["voices", "show", str(path)])
    assert result.exit_code == 3 and "declares" in result.output


def test_a_voice_longer_than_a_minute_is_refused(tmp_path):
    from bark_cli.voices.voice import validate_voice

    with pytest.raises(VoiceError, match="longer than 60 s"):
        validate_voice("long", _good(frames=4501))  # arrays from memory (a file is refused by its header)
    path = tmp_path / "long.npz"
    np.savez(path, **_good(frames=4501))
    with pytest.raises(VoiceError, match="coarse_prompt: declares 9,002 values, more than the 9,000"):
        load_voice_file(path)


def test_members_other_than_the_three_are_never_read(tmp_path):
    """Only semantic_prompt, coarse_prompt and fine_prompt are read: an extra member (a pickle here, or
    gigabytes) costs nothing."""
    arrays = _good()
    path = tmp_path / "extra.npz"
    members = {f"{key}.npy": _npy(value) for key, value in arrays.items()}
    members["junk.npy"] = _npy(np.array([object()], dtype=object))
    members["big.npy"] = _declaring((3 * 2**30,), dtype="|u1")
    _npz_with(path, members)
    assert load_voice_file(path).fine_prompt.shape == (8, 40)


def test_a_truncated_voice_is_refused(tmp_path):
    arrays = _good()
    path = tmp_path / "short.npz"
    _npz_with(path, {"semantic_prompt.npy": _npy(arrays["semantic_prompt"])[:-10],
                     "coarse_prompt.npy": _npy(arrays["coarse_prompt"]), "fine_prompt.npy": _npy(arrays["fine_prompt"])})  # fmt: skip
    with pytest.raises(VoiceError, match="truncated"):
        load_voice_file(path)


def test_voices_list_skips_a_damaged_saved_voice(tiny_voice):
    from bark_cli.voices.library import user_voice_dir

    assert runner.invoke(app, ["voices", "import", str(tiny_voice), "--name", "good"]).exit_code == 0
    (user_voice_dir() / "broken.npz").write_bytes(b"not a zip")
    result = runner.invoke(app, ["voices", "list", "--json"])
    assert result.exit_code == 0, result.output
    names = [v["name"] for v in json.loads(result.stdout)]
    assert "good" in names and "broken" not in names and len(names) == 262
    assert result.stderr.count("skipping saved voice 'broken'") == 1


def test_a_voice_name_with_a_trailing_newline_is_refused(tiny_voice):
    result = runner.invoke(app, ["voices", "import", str(tiny_voice), "--name", "narrator\n"])
    assert result.exit_code == 3 and "voice name 'narrator\\n'" in result.output
