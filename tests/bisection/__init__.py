"""Tests of patchtool.bisection."""
