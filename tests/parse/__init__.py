"""Tests of patchtool.parse."""
