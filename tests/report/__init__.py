"""Tests of patchtool.report."""
