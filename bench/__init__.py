"""Benchmarks; importable so that one benchmark can reuse another's fixtures (e.g. the synthetic catalog)."""
