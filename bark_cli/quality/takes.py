"""Retakes: each take of a segment has its own seed, derived from the segment's seed and the take number, so
a file stays reproducible from --seed; the best take is kept.

Take 0 uses the segment's own seed (so with the gate on, a segment that passes sounds exactly as with the
gate off). Take k adds k times an odd 63-bit constant (the golden ratio's, as in splitmix64), which spreads
the takes of neighbouring seeds far apart.
"""

from __future__ import annotations

from .checks import Report

TAKE_STRIDE = (0x9E3779B97F4A7C15 >> 1) | 1  # odd, about 2^62: take k of seed s lands far from seed s+1
SEED_MODULUS = 2**63  # segment and take seeds wrap around within torch's seed range


def take_seed(seed: int, take: int) -> int:
    """The seed of take number ``take`` (0 first) of a segment whose seed is ``seed``."""
    return (seed + take * TAKE_STRIDE) % SEED_MODULUS


def better(report: Report, best: Report | None) -> bool:
    """Whether a take judged ``report`` beats the best so far (an earlier take wins a tie)."""
    return best is None or report.score < best.score


def gate_entry(take: int, takes: int, report: Report | None) -> dict:
    """What a manifest says of one segment's gate: the take kept (0: the first) of the ``takes`` made, the
    checks it still fails, and its measures; nothing with the gate off."""
    if report is None:
        return {}
    return {"take": take, "takes": takes, **report.to_json()}
