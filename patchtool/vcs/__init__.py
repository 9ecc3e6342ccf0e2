"""Every git call: the repository wrapper, trees built in memory, tool worktrees.

Imports only the shared bottom.
"""
