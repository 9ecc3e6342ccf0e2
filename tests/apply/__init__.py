"""Tests of patchtool.apply."""
