"""The library's front door: one function per CLI command, taking validated options."""

from .say import plan, say

__all__ = ["plan", "say"]
