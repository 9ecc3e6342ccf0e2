"""Test repeats, bisect probes and series reviews on a Dask cluster (optional: `patchtool[cluster]`).

Imports pipeline and below. Dask is imported only inside `client` and only when a cluster is
asked for; `spec`, `placement` and `worker` are plain Python so tests and workers share them.
"""
