"""Shared fixtures: one tiny random-weight Bark checkpoint per test run, in the real format."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

from tiny_bark import build_tiny_bark

# huggingface_hub reads these once, at import: set them before anything imports it, so no test can touch
# the real cache or try the network. (Tests that need their own cache run `bark` in a subprocess.)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="bark-tests-hf-")
# A user's running `bark serve` lives in their runtime directory: point it elsewhere for the whole run, so
# no test (nor a `bark` subprocess) ever renders on it. Tests that start a server give it their own.
os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="bark-tests-run-")


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    return build_tiny_bark(tmp_path_factory.mktemp("tiny-bark"))


@pytest.fixture(scope="session")
def endless_checkpoint(tmp_path_factory):
    """The tiny checkpoint, but its end-of-speech logit can never win: every take runs to the token cap."""
    return build_tiny_bark(tmp_path_factory.mktemp("tiny-endless"), endless=True)


@pytest.fixture(scope="session")
def synthesizer(tiny_checkpoint):
    from bark_cli.options import RuntimeOptions
    from bark_cli.pipeline import Synthesizer

    return Synthesizer.load(RuntimeOptions(model=str(tiny_checkpoint), device="cpu"))


@pytest.fixture(scope="session")
def oracle(tiny_checkpoint):
    """transformers' own BarkModel on the same weights: the reference our stages must agree with."""
    from transformers import BarkModel

    return BarkModel.from_pretrained(tiny_checkpoint).eval()


@pytest.fixture(scope="session")
def tiny_voice(tmp_path_factory):
    """A valid voice file: random tokens of the right shapes (the real presets are tested elsewhere)."""
    rng = np.random.default_rng(7)
    frames = 300
    path = tmp_path_factory.mktemp("voices") / "tiny_voice.npz"
    np.savez(
        path,
        semantic_prompt=rng.integers(0, 10_000, 200),
        coarse_prompt=rng.integers(0, 1024, (2, frames)),
        fine_prompt=rng.integers(0, 1024, (8, frames)),
    )
    return path


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path, tmp_path_factory, monkeypatch):
    """Keep tests away from the real user directories (platformdirs reads these on every call)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # No server there, so in-process tests stay in-process. Beside tmp_path (tests check what a run leaves in
    # it), mode 0700, or platformdirs passes it over for a shared /run/user/UID or /tmp/runtime-UID, where a
    # user's server may be listening.
    run = tmp_path_factory.mktemp("run")
    run.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
