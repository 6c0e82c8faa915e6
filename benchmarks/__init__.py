"""Lookout's own benchmarks: `make bench` runs them and updates docs/performance.md."""
