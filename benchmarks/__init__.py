"""Benchmark scripts: run each with .venv/bin/python benchmarks/NAME.py --help."""
