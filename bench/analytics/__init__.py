"""Helpers of ``python -m bench.analytics``: data set, HTTP load, EXPLAIN summary, report."""
