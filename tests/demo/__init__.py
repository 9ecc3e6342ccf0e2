"""Tests of patchtool.demo."""
