"""Benchmark scenarios: one module per family, each defining ``SCENARIOS``."""
