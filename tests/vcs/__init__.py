"""Tests of patchtool.vcs."""
