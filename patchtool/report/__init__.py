"""The report: records (plain dataclasses), the context from the stages, renderers per format.

Imports bisection and below.
"""
