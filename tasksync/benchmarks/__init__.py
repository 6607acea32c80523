"""Sync benchmarks (docs/PERFORMANCE.md) and the harness the proof tests share."""
