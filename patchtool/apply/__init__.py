"""Apply and backport engines: the temporary index, path rewriting, commit messages, am-ready mboxes.

Imports review and below.
"""
