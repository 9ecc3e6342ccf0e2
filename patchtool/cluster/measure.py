"""`test --cluster`: the stored runs first (the one routine's rule), the missing runs on workers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from patchtool.build.meson import config_key
from patchtool.cluster.client import Cluster
from patchtool.cluster.spec import TreeSpec
from patchtool.errors import UsageError, VerdictError
from patchtool.store import Store
from patchtool.testrun.measure import Measure, stored_progress
from patchtool.testrun.results import TestOutcome, forget_runs, stored_outcome


def measure_on_cluster(
    cluster: Cluster,
    tree: TreeSpec,
    tree_id: str,
    req: Measure,
    store: Store,
    progress: Callable[[int, int], None] | None = None,
) -> TestOutcome:
    """Reuse the runs stored for this tree (same keys as local runs); run only the missing ones."""
    if not req.names:
        raise UsageError("--cluster needs the tests named (the workers do not guess a setup's tests)")
    if req.until_fail or req.suite:
        raise UsageError("--cluster runs named tests; --until-fail and --suite run here only")
    key = config_key(req.configure_args)
    if req.fresh:
        forget_runs(store, tree_id, key, req.setup, req.names)
    _, done = stored_progress(store, tree_id, dataclasses.replace(req, fresh=False))
    if done < req.repeat:
        outcome = cluster.run_repeats(
            tree, req.names, req.repeat - done, store, setup=req.setup, timeout=req.timeout, progress=progress
        )
        if outcome.build_error:
            raise VerdictError(f"build of {tree.commit[:12]} failed on the cluster: {outcome.build_error}")
    combined = stored_outcome(store, tree_id, key, req.names, req.setup)
    assert combined is not None  # runs were just stored, or enough were there before
    # "stored results" means nothing ran now; runs the workers just made are fresh results.
    return dataclasses.replace(combined, from_store=done >= req.repeat, repeat=req.repeat)
