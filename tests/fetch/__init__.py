"""Tests of patchtool.fetch."""
