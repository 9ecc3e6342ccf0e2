"""`test --cluster`: measure tests on a commit with the stored runs first, the missing runs on workers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from patchtool.build.meson import config_key
from patchtool.cluster.client import Cluster
from patchtool.cluster.spec import TreeSpec
from patchtool.errors import UsageError, VerdictError
from patchtool.store import Store
from patchtool.testrun.results import TestOutcome, forget_runs, stored_outcome


def measure_on_cluster(
    cluster: Cluster,
    tree: TreeSpec,
    tree_id: str,
    names: Sequence[str],
    repeat: int,
    store: Store,
    *,
    setup: str | None = None,
    timeout: float | None = None,
    fresh: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> TestOutcome:
    """Reuse the runs stored for this tree (same keys as local runs); run only the missing ones."""
    if not names:
        raise UsageError("--cluster needs the tests named (the workers do not guess a setup's tests)")
    key = config_key(tree.configure_args)
    if fresh:
        forget_runs(store, tree_id, key, setup, names)
    have = stored_outcome(store, tree_id, key, names, setup)
    done = min((t.runs for t in have.tests), default=0) if have else 0
    if done < repeat:
        outcome = cluster.run_repeats(tree, names, repeat - done, store, setup=setup, timeout=timeout,
                                      progress=progress)
        if outcome.build_error:
            raise VerdictError(f"build of {tree.commit[:12]} failed on the cluster: {outcome.build_error}")
    combined = stored_outcome(store, tree_id, key, names, setup)
    assert combined is not None  # runs were just stored, or enough were there before
    # "stored results" means nothing ran now; runs the workers just made are fresh results.
    return dataclasses.replace(combined, from_store=done >= repeat, repeat=repeat)
