"""Benchmarks of wats-converter against the local server over loopback (see docs/performance.md)."""
