"""Tests of patchtool.build."""
