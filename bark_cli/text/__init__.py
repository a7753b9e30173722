"""Text in: normalisation, token ids, speech-length estimates, and segmentation (leaf: no torch)."""
