"""Converting memory-mapped checkpoint weights: the same values as Module.to, without keeping the file's
float32 pages resident (bark_cli/residency.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from bark_cli.runtime.cpu.residency import file_mappings, to_releasing

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="releases pages on Linux only")


def _resident_kb(path: Path) -> int:
    """Resident KiB of this process's mappings of ``path`` (/proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps", encoding="ascii", errors="replace") as smaps:
        for line in smaps:
            head = line.split()
            if "-" in head[0] and len(head) >= 5:  # a mapping's header line
                inside = len(head) == 6 and head[5] == str(path)
            elif inside and head[0] == "Rss:":
                total += int(head[1])
    return total


class _Net(torch.nn.Module):
    """Shapes like a GPT's: a big embedding, a head tied to it, a view of its rows, an integer buffer."""

    def __init__(self, weights: dict[str, torch.Tensor]):
        super().__init__()
        self.embed = torch.nn.Embedding(*weights["embed"].shape, _weight=weights["embed"])
        self.head = torch.nn.Linear(weights["embed"].shape[1], len(weights["embed"]), bias=False)
        self.head.weight = self.embed.weight  # tied: one storage, converted twice
        self.part = torch.nn.Linear(weights["embed"].shape[1], 1024, bias=False)
        self.part.weight = torch.nn.Parameter(self.embed.weight[1000:2024])  # a view, as add_head_slices makes
        self.norm = torch.nn.LayerNorm(weights["embed"].shape[1])
        self.register_buffer("ids", torch.arange(7))


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    path = tmp_path / "model.safetensors"
    save_file({"embed": torch.randn(20_000, 256)}, str(path))  # 20 MB: more than one conversion chunk
    return path


def test_mapped_weights_convert_like_module_to_and_leave_no_file_pages(checkpoint):
    kept = load_file(str(checkpoint))  # transformers' model keeps its float32 tensors until it is dropped
    _Net(kept).to(torch.device("cpu"), torch.bfloat16)
    assert _resident_kb(checkpoint) >= 19_000  # Module.to read every page, and they stay
    del kept

    source = load_file(str(checkpoint))
    net = to_releasing(_Net(source), torch.device("cpu"), torch.bfloat16)
    assert _resident_kb(checkpoint) < 1_000  # the pages converted were handed back as they went
    reference = _Net(load_file(str(checkpoint))).to(torch.bfloat16)
    for (name, ours), theirs in zip(net.state_dict().items(), reference.state_dict().values()):
        assert ours.dtype == theirs.dtype and torch.equal(ours, theirs), name
    assert net.ids.dtype == torch.int64
    # Released file pages are not lost: reading the float32 source again faults them in from the file.
    assert torch.equal(source["embed"], load_file(str(checkpoint))["embed"])


def test_weights_in_memory_are_converted_and_never_released():
    weights = {"embed": torch.randn(20_000, 256)}
    original = weights["embed"].clone()
    net = to_releasing(_Net(weights), torch.device("cpu"), torch.bfloat16)
    assert torch.equal(net.embed.weight, original.to(torch.bfloat16))
    assert torch.equal(weights["embed"], original)  # anonymous memory: madvise would have zeroed it


def test_same_dtype_shares_the_tensors():
    weights = {"embed": torch.randn(100, 16)}
    net = to_releasing(_Net(weights), torch.device("cpu"), torch.float32)
    assert net.embed.weight.data_ptr() == weights["embed"].data_ptr()


def test_file_mappings_name_only_file_backed_spans(checkpoint):
    weights = load_file(str(checkpoint))
    spans = file_mappings()
    address = weights["embed"].data_ptr()
    assert any(start <= address < end for start, end in spans)
    heap = torch.randn(1 << 20)
    assert not any(start <= heap.data_ptr() < end for start, end in spans)


@pytest.mark.parametrize("precision", [{"half": True}, {"quantize": "int8"}], ids=["half", "int8"])
def test_load_from_a_checkpoint_matches_converting_in_memory(tiny_checkpoint, tmp_path, precision):
    """The real path: `load_networks` on the saved tiny checkpoint (its semantic embedding, 129,600 x 32
    float32, is converted to bf16 in chunks and released; int8 converts the semantic and coarse networks to
    bf16 first) against transformers' weights cast with Module.to."""
    from transformers import BarkModel

    from bark_cli.runtime.loading import load_networks
    from bark_cli.options import RuntimeOptions

    checkpoint = shutil.copytree(tiny_checkpoint, tmp_path / "tiny")  # a file no other test has mapped
    networks = load_networks(RuntimeOptions(model=str(checkpoint), device="cpu", **precision))
    # Not the semantic embedding's 16,200 KiB of float32 pages (what stays is mostly the float32 codec's).
    assert _resident_kb(checkpoint / "model.safetensors") < 129_600 * 32 * 4 // 1024
    bark = BarkModel.from_pretrained(checkpoint, dtype=torch.float32)
    for ours, theirs in [
        (networks.semantic.input_embeds_layer.weight, bark.semantic.input_embeds_layer.weight),
        (networks.coarse.position_embeds_layer.weight, bark.coarse_acoustics.position_embeds_layer.weight),
        (networks.fine.input_embeds_layers[3].weight, bark.fine_acoustics.input_embeds_layers[3].weight),
    ]:
        assert torch.equal(ours, theirs.to(ours.dtype))  # the fine network stays float32 with int8 alone
    assert networks.semantic.input_embeds_layer.weight.dtype == torch.bfloat16
