"""The pipeline that `bark say`, `bark batch`, `bark book` and `bark serve` all drive.

A `Recording` is one text to render (a `bark say`, or one batch item): its segments' texts, its voice,
its generation options and its base seed. `Pipeline.render` (render.py) takes any number of recordings and
hands back every segment's audio, each recording's in order, taking codes from the segment cache or
generating them through semantic -> coarse -> fine -> codec on a `Synthesizer` (synthesizer.py; on a Ray
cluster, cluster/workers.py's). The rules, stated once:

- Seeds: segment seed = (base seed + CRC-32 of the segment's UTF-8 text + n) mod 2^63, where n counts the
  earlier segments of the same recording with the same text. The base seed is --seed, or a JSONL item's
  own "seed"; without one, `bark say` draws a random one (shown with -v) and `bark batch` uses 0. A
  segment's seed depends on its own text, not on its position: editing, adding or removing one sentence
  leaves every other segment's seed, and so its cached codes, as they were.
- Voice: with no voice, a recording's first segment is generated first and its own output becomes the
  voice of the others, so one text keeps one speaker while the rest stay independent and batchable.
- Batches (rounds.py): the segments of the recordings of one window share the stage batches (rows of one
  batch share their generation options), longest first so rows of a batch end together, or in text order
  for streaming (the first audio comes sooner). Each row samples from its own generator, seeded by its
  segment, so its tokens follow its own seed in any batch. The batch can still move the last bits of the
  logits (rows padded to other lengths sum in another order), which once in a long while tips a sampled
  token; so the batches are formed by a fixed rule from the inputs and the cache, and the same run gives
  the same bytes, on one machine or on a cluster with any number of workers.
- Cache: `segment_key` (see batch/cache.py); --no-cache neither reads nor writes it.
- Quality gate (quality/): with ``retakes``, every take is checked as it is ready; a failing one queues the
  segment's next take (its own seed, quality/takes.py) for the next round, looked up in the cache first,
  so a re-run repeats no take. The best take is kept. A first segment that becomes the voice of the others
  is settled (retaken if need be) before they start.
"""

from .render import Pipeline
from .segments import Recording, RenderStats, Segment, SegmentResult, segment_seeds, voice_from
from .synthesizer import Synthesizer

__all__ = ["Pipeline", "Recording", "RenderStats", "Segment", "SegmentResult", "Synthesizer", "segment_seeds", "voice_from"]
