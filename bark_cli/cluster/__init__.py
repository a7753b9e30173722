"""Generation on a Ray cluster (`--ray`): the one place that imports Ray (the `ray` extra).

The driver (the `bark batch` or `bark book` process) keeps everything that a local run does: planning,
the segment cache, the quality gate's retakes, locks, records, the manifest, joining and writing. Only the
stage batches travel: `RaySynthesizer` stands where the local `Synthesizer` stands
(pipeline/synthesizer.py) and sends each batch to one of ``--workers`` actors, which load the networks
once and hand back each segment's audio and codes. The cache is written by the driver alone, so the workers need no shared file system, and a
worker that dies mid-batch leaves nothing half-written: Ray restarts it and runs the batch again.
"""
