"""Reference implementations of the benchmark's analysis set in pandas and Polars (``benchmarks/analytics.py``
measures the SQL engine against them; the tests check that all three agree)."""
