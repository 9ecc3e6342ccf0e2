"""Mail to Series: mbox split, subjects, bodies, trailers, the one diff reader, C functions, series.

Imports the shared bottom and vcs.
"""
