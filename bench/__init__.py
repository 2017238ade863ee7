"""Benchmarks against a real Synapse and a real Docker engine; see BENCHMARKS.md."""
