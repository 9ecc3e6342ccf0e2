"""Run meson tests repeatedly and measure each test's failure rate, reusing stored runs.

Imports build and below.
"""
