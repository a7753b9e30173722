"""Audio out: joining segments, file formats and tags, subtitles and manifests (leaf: no torch)."""
