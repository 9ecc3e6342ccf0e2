"""Tests of patchtool.cli."""
