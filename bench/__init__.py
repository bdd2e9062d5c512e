"""Benchmarks: ``python bench/run.py [--quick] [--only NAME]``."""
