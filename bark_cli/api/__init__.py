"""The library's front door: one function per CLI command that renders, taking validated options.

`say` (api/say.py): one text into one recording. `batch` (api/batch.py): many items into a directory,
resumable. `plan`: the segments `say` would render. Both renderers drive pipeline.py. `check`: the quality
gate's audio checks on a file rendered earlier.
"""

from .batch import batch
from .check import check
from .say import plan, say

__all__ = ["batch", "check", "plan", "say"]
