"""Review checks on a Series and on the tree it applies to: trailers, sign-offs, code, MAINTAINERS.

Imports parse and below.
"""
