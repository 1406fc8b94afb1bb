"""Benchmarks: ``python -m bench.run`` (``make bench``) and the smaller scripts next to it."""
