"""Helpers of ``benchmarks/analytics_bench.py``: data set, HTTP load, EXPLAIN summary, report."""
