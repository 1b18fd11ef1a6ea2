"""Benchmarks of uvmod against what cluster users do today.

Scripts, not tests: pytest's testpaths is `tests`, and nothing here asserts on a time.
Run `python benchmarks/run.py` (or `--quick`); see docs/performance.md.
"""
