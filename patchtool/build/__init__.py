"""Configure and compile a tree with meson and ninja, keep the results in the store.

Imports apply and below.
"""
