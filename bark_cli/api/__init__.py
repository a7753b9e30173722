"""The library's front door: one function per CLI command that renders, taking validated options.

`say` (api/say.py): one text into one recording. `batch` (api/batch.py): many items into a directory,
resumable. `book` (api/book.py): a book into an M4B or a file per chapter, through batch's machinery.
`plan`: the segments `say` would render. The renderers drive pipeline/. `check`: the quality gate's
audio checks on a file rendered earlier.
"""

from .batch import batch
from .book import book
from .check import check
from .say import plan, say

__all__ = ["batch", "book", "check", "plan", "say"]
