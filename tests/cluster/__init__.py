"""Tests of patchtool.cluster."""
