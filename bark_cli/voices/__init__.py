"""Voices: the prompt arrays and their validation, name resolution, and the shipped presets (leaf)."""
