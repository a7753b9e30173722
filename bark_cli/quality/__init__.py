"""The quality gate: model-free checks of each generated segment (checks.py), and the choice among retakes
(takes.py)."""
