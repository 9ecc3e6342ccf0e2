"""Tests of patchtool.review."""
