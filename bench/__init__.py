"""Benchmarks (`make bench`): measured figures land in docs/benchmarks.md."""
