"""Sync benchmarks (docs/PERFORMANCE.md) and the harness the proof tests share.

Not part of the installed product: it runs from the repository (``make bench``,
``python -m benchmarks``) and uses Django's test tools, which product code never imports.
"""
