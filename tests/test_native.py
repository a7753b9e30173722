"""The native --half decode kernels (bark_cli.runtime.cpu.native, kernels/decode_bf16.c) against oneDNN's bf16 path.

Both read the same prepacked weights and round to bf16 at the same points; they differ only in the order
of float32 sums. The tests compile the kernel for real into the test's cache directory.
"""

from __future__ import annotations

import copy
import logging

import pytest
import torch

from bark_cli.runtime.cpu.linears import NativeBlock, PackedLinear, can_prepack, prepack_linears
from bark_cli.runtime.cpu.native import load_native


@pytest.fixture
def native(tmp_path):
    if not can_prepack():
        pytest.skip("no oneDNN bf16 linear kernels in this torch build")
    kernels = load_native(tmp_path / "kernels")
    if kernels is None:
        pytest.skip("the native kernel cannot run here (no AVX512-BF16 or no C compiler)")
    return kernels


# (in, out) widths: Bark's own, the tiny checkpoint's, and outputs that are not a multiple of 64.
SHAPES = [(768, 2304), (3072, 768), (32, 96), (128, 32), (64, 100)]


@pytest.mark.parametrize("in_features, out_features", SHAPES)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("activation", ["none", "gelu"])
def test_one_row_linear_matches_onednn(native, in_features, out_features, bias, activation):
    generator = torch.Generator().manual_seed(in_features + out_features)
    linear = torch.nn.Linear(in_features, out_features, bias=bias, dtype=torch.bfloat16)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(out_features, in_features, generator=generator) / in_features**0.5)
    x = torch.randn(1, 1, in_features, generator=generator).to(torch.bfloat16)
    ours = PackedLinear(linear, activation, native=native)
    theirs = PackedLinear(linear, activation)
    assert ours.native is not None and theirs.native is None
    with torch.no_grad():
        a, b = ours(x), theirs(x)
    assert a.shape == b.shape == (1, 1, out_features) and a.dtype == torch.bfloat16
    torch.testing.assert_close(a.float(), b.float(), atol=0.02, rtol=0.01)  # a bf16 step is 0.4% of a value


def test_widths_the_kernel_cannot_read_stay_with_onednn(native):
    """The kernel needs in_features a multiple of 32; a linear that is not keeps oneDNN's kernel."""
    linear = torch.nn.Linear(100, 37, dtype=torch.bfloat16)
    packed = PackedLinear(linear, native=native)
    assert packed.native is None
    assert packed(torch.ones(1, 100, dtype=torch.bfloat16)).shape == (1, 37)


@pytest.mark.parametrize("network", ["semantic", "coarse"])
@pytest.mark.parametrize("pad", [0, 3], ids=["unpadded", "left-padded"])
def test_decode_steps_match_the_onednn_path(synthesizer, native, network, pad):
    """A batch-1 decode step runs each block as one native call: the same logits as oneDNN's bf16 path,
    step after step, with its keys and values in the cache (later steps read them), and padding skipped."""
    bf16 = copy.deepcopy(getattr(synthesizer.networks, network)).to(torch.bfloat16)
    ours, theirs = prepack_linears(copy.deepcopy(bf16), native), prepack_linears(bf16)
    assert all(isinstance(block, NativeBlock) for block in ours.layers)
    tokens = torch.randint(0, 10_000, (1, 40), generator=torch.Generator().manual_seed(8))
    pad_left = torch.tensor([pad]) if pad else None
    caches = ours.new_cache(1, 64, pad_left), theirs.new_cache(1, 64, pad_left)
    with torch.no_grad():
        a = ours(ours.embed(tokens[:, :20]), caches[0])  # prefill: oneDNN for both
        b = theirs(theirs.embed(tokens[:, :20]), caches[1])
        for step in range(20, 40):
            token = tokens[:, step : step + 1]
            a, b = ours(ours.embed(token), caches[0]), theirs(theirs.embed(token), caches[1])
            assert (a - b).abs().max() <= 0.02 * b.abs().max(), f"step {step}"
    torch.testing.assert_close(caches[0].kv[:, :, :, :, :40].float(), caches[1].kv[:, :, :, :, :40].float(), atol=0.05, rtol=0.02)


@pytest.fixture
def log_messages():
    """What bark_cli logs at INFO during the test (the CLI's tests give its logger handlers of their own,
    which do not propagate to caplog)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("bark_cli")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: " ".join(record.getMessage() for record in records)
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_the_kernel_is_built_once_and_reused(tmp_path, log_messages):
    if load_native(tmp_path) is None:
        pytest.skip("the native kernel cannot run here (no AVX512-BF16 or no C compiler)")
    (library,) = tmp_path.glob("decode_bf16-*.so")
    built = library.stat().st_mtime_ns
    assert "compiled" in log_messages()
    assert load_native(tmp_path) is not None
    assert library.stat().st_mtime_ns == built and log_messages().count("compiled") == 1


def test_a_damaged_cached_kernel_is_built_again(tmp_path, log_messages):
    """A truncated library (a power loss, a full disk) crashed every --half run with SIGBUS when loaded."""
    import shutil

    from bark_cli.runtime.cpu.native import _build

    compiler = shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    library = _build(tmp_path, compiler)
    whole = library.read_bytes()
    for damage in (whole[: len(whole) // 2], b"", b"\x7fELF garbage"):
        library.write_bytes(damage)
        assert _build(tmp_path, compiler) == library
        assert library.read_bytes() == whole  # checked against its digest before use, and built again
    assert log_messages().count("compiled") == 4


def test_cache_clear_removes_the_compiled_kernels(tmp_path):
    from typer.testing import CliRunner

    from bark_cli.cli.app import app
    from bark_cli.runtime.cpu.native import kernel_dir

    kernel_dir().mkdir(parents=True)
    (kernel_dir() / "decode_bf16-0123.so").write_bytes(b"\x7fELF")
    result = CliRunner().invoke(app, ["cache", "clear"])
    assert result.exit_code == 0 and "1 compiled kernel(s)" in result.output
    assert not kernel_dir().exists()


def test_without_a_compiler_the_onednn_path_is_used(tmp_path, monkeypatch, log_messages):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    assert load_native(tmp_path) is None
    assert "oneDNN" in log_messages()


def test_a_prepacked_network_refuses_to_be_copied(synthesizer, native):
    """A copy would keep the original's weight addresses (the kernels read raw pointers)."""
    net = prepack_linears(copy.deepcopy(synthesizer.networks.coarse).to(torch.bfloat16), native)
    with pytest.raises(TypeError, match="copy it before"):
        copy.deepcopy(net)
