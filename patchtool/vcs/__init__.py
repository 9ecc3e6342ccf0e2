"""Every git call: the repository wrapper (the one GitPython import), trees built in memory, tool worktrees.

Imports only the shared bottom.
"""
