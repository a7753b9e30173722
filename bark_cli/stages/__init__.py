"""The pipeline stages, one module each: sampling, semantic, coarse, fine, codec."""
