"""Tests of patchtool.testrun."""
