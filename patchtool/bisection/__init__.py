"""Flaky-aware bisection: the pure core and its statistics, then probes and the driver over real commits.

Imports testrun and below.
"""
