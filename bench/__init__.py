"""Benchmarks proving the DESIGN §8 performance targets (see docs/benchmarks.md)."""
