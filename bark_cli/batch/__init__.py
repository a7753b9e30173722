"""Many items: reading batch inputs, and the content-addressed cache of segment codes (leaf: no torch)."""
