"""Hub ids through the real Hugging Face cache layout (built here from the tiny checkpoint, offline)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import subprocess
import sys

import pytest
import soundfile

REPO = "test-org/tiny-bark"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_cache(tiny_checkpoint, tmp_path):
    """The tiny checkpoint as the hub cache stores a download: blobs, a ref, and a snapshot of symlinks."""
    repo = tmp_path / "hf-home" / "hub" / ("models--" + REPO.replace("/", "--"))
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for file in tiny_checkpoint.iterdir():
        blob = repo / "blobs" / hashlib.sha256(file.read_bytes()).hexdigest()
        shutil.copyfile(file, blob)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / file.name)
    return snapshot


@pytest.fixture
def bark(tmp_path):
    """`bark` in a subprocess whose Hugging Face cache is tmp_path/hf-home (huggingface_hub reads HF_HOME
    at import, so a fresh process is the honest way to point it elsewhere)."""
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf-home"), "HF_HUB_OFFLINE": "1"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "bark_cli", *args], capture_output=True, text=True, env=env, timeout=300)

    return run


def test_models_lists_cached_bark_checkpoints(hub_cache, bark):
    rows = [r for r in json.loads(bark("models", "--json").stdout) if r["cached"]]
    assert [(r["model"], r["revision"]) for r in rows] == [(REPO, COMMIT)] and rows[0]["size_bytes"] > 10_000
    table = bark("models")
    assert table.returncode == 0 and REPO in table.stdout and COMMIT[:12] in table.stdout


def test_hub_id_renders_offline_from_the_cache(hub_cache, bark, tmp_path):
    """Offline (HF_HUB_OFFLINE=1), a successful run says nothing: no third-party warnings either."""
    out = tmp_path / "x.wav"
    result = bark("say", "hello", "--model", REPO, "-o", str(out), "--max-seconds", "1", "--retakes", "0")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert soundfile.info(out).frames > 0
    download = bark("models", "download", REPO)
    assert download.returncode == 0 and download.stdout.strip() == str(hub_cache)


def test_download_of_an_uncached_model_offline_is_one_sentence(hub_cache, bark):
    result = bark("models", "download", "suno/bark")
    assert result.returncode == 4 and "not in the local Hugging Face cache" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_cache_at_all(bark):
    result = bark("models", "--json")
    assert result.returncode == 0 and not any(r["cached"] for r in json.loads(result.stdout))
