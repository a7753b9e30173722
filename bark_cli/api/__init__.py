"""The library's front door: one function per CLI command that renders, taking validated options.

`say` (api/say.py): one text into one recording. `batch` (api/batch.py): many items into a directory,
resumable. `plan`: the segments `say` would render. Both renderers drive pipeline.py.
"""

from .batch import batch
from .say import plan, say

__all__ = ["batch", "plan", "say"]
