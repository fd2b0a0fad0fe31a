"""Parley benchmarks (`make bench`): load, delivery, scale and front-end figures.

Nothing here is imported by the product; see docs/PERFORMANCE.md for the results.
"""
