"""The commit graph a bisect ranges over: its good and bad ends, the commits --skip names, and the
commits of the range that touch the paths it is limited to (git bisect start -- PATH...)."""

from __future__ import annotations

from collections.abc import Sequence

from patchtool.bisection.graph import History
from patchtool.errors import InputError
from patchtool.vcs.repo import GitRepo


def bounding_goods(repo: GitRepo, good: str | Sequence[str], bad: str) -> list[str]:
    """The good commits (shas) that bound the range: each checked to be an ancestor of ``bad``, and
    without those another good commit descends from (their ancestors are out already). The first
    is the first given that is kept: the good end, run when q is measured."""
    goods = [good] if isinstance(good, str) else list(good)
    bad_sha = repo.rev_parse(bad)
    shas: list[str] = []
    for name in goods:
        sha = repo.rev_parse(name)
        if sha == bad_sha:
            same = f"the same commit {sha[:12]}"
            raise InputError(f"--good {name} and --bad {bad} are {same}: nothing to bisect")
        if not repo.is_ancestor(sha, bad_sha):
            why = _not_ancestor(repo, sha, bad_sha)
            raise InputError(f"--good {name} is not an ancestor of --bad {bad}: {why}")
        if sha not in shas:
            shas.append(sha)
    return [g for g in shas if not any(o != g and repo.is_ancestor(g, o) for o in shas)]


def skipped_commits(repo: GitRepo, revs: Sequence[str], ends: Sequence[str] = ()) -> frozenset[str]:
    """The commits ``--skip`` names (git bisect skip): each a revision, or a range ``A..B``. A
    single revision that is one of ``ends`` (--good, --bad) is an error: the ends bound the
    search and are never skipped (a range may cover one; only the commits between count)."""
    shas: set[str] = set()
    bounds = {repo.try_rev_parse(end) for end in ends}
    for rev in revs:
        if ".." not in rev:
            sha = repo.rev_parse(rev)
            if sha in bounds:
                raise InputError(f"--skip {rev}: it is --good or --bad, which bound the search; not skipped")
            shas.add(sha)
            continue
        listed = repo.git("rev-list", "--end-of-options", rev, check=False)
        if not listed.ok:
            why = (listed.errtext().strip().splitlines() or ["git rev-list failed"])[0]
            raise InputError(f"--skip {rev}: not a range of commits in {repo.path} ({why})")
        shas.update(listed.text().split())
    return frozenset(shas)


def commit_graph(
    repo: GitRepo, good: str | Sequence[str], bad: str, first_parent: bool, paths: Sequence[str] = ()
) -> tuple[list[str], History, dict[int, str]]:
    """Positions 0..n: the good commit, then every commit of good..bad, parents before children
    (the last is the bad commit), with their parents inside the range; and the first parents
    outside it (``range_graph``).

    Several good commits (``git bisect good A B``) take the ancestors of each out of the range: a
    commit is a candidate when it is an ancestor of the bad one and of none of them. Position 0 is
    the first of ``bounding_goods``; the others are known good without a position, as every parent
    outside the range is."""
    return range_graph(repo, bounding_goods(repo, good, bad), bad, first_parent, paths)


def range_graph(
    repo: GitRepo, tops: Sequence[str], bad: str, first_parent: bool, paths: Sequence[str] = ()
) -> tuple[list[str], History, dict[int, str]]:
    """commit_graph for good commits already checked and bounded (``bounding_goods``), and the
    first parent of each position whose first parent is outside the range (position -> sha): an
    ancestor of a good commit, known good, which History leaves out (its first parent there is
    the good end). A side branch forked before the good end has one at its first commit; so may
    a --first-parent line when a good commit was merged into it.

    With ``paths`` (git bisect start -- PATH...), only the commits that change them are in the
    graph, each with its parents rewritten to the nearest ones that do (git's history
    simplification, as git bisect lists them); the bad end stays the last position whether it
    changes them or not, its parents then the newest of those commits."""
    bad_sha = repo.rev_parse(bad)
    mode = ("--first-parent",) if first_parent else ()
    args = ("rev-list", "--reverse", "--topo-order", "--parents", *mode, bad_sha, *(f"^{g}" for g in tops))
    listing = limited_listing(repo, args, paths)
    rows = [line.split() for line in listing.splitlines() if line.strip()]
    if paths:
        rows = _ending_at_bad(rows, bad_sha, tops, bad, paths)
    if not rows or rows[-1][0] != bad_sha:
        raise InputError(f"no commits between {' '.join(g[:12] for g in tops)} and {bad}")
    shas = [tops[0]] + [r[0] for r in rows]
    index = {sha: i for i, sha in enumerate(shas)}
    parents: list[tuple[int, ...]] = [()]
    outside: dict[int, str] = {}
    for pos, row in enumerate(rows, start=1):
        listed_parents = row[1:2] if first_parent else row[1:]
        # Parents outside the range are ancestors of a good end (or of no interest): known good.
        parents.append(tuple(index[p] for p in listed_parents if p in index and index[p] < pos))
        if len(row) > 1 and row[1] not in index:
            outside[pos] = row[1]
    return shas, History(parents), outside


def limited_listing(repo: GitRepo, args: Sequence[str], paths: Sequence[str]) -> str:
    """What ``git <args>`` lists, limited to the commits that change ``paths`` when there are any;
    a path git refuses (outside the repository, say) is the user's input error, in one line."""
    if not paths:
        return repo.out(*args)
    listed = repo.git(*args, "--", *paths, check=False)
    if not listed.ok:
        why = (listed.errtext().strip().splitlines() or ["git rev-list failed"])[0]
        raise InputError(f"paths {' '.join(paths)}: {why}")
    return listed.text()


def _ending_at_bad(
    rows: list[list[str]], bad_sha: str, tops: Sequence[str], bad: str, paths: Sequence[str]
) -> list[list[str]]:
    """The rows of a path-limited listing with the bad end last: when it does not change the paths
    itself, it follows the commits that do, its parents those no other of them has as a parent."""
    if not rows:
        goods = " ".join(g[:12] for g in tops)
        raise InputError(f"no commit between {goods} and {bad} changes {' '.join(paths)}: nothing to bisect")
    if rows[-1][0] == bad_sha:
        return rows
    has_child = {p for row in rows for p in row[1:]}
    heads = [row[0] for row in rows if row[0] not in has_child]
    return [*rows, [bad_sha, *reversed(heads)]]


def changes_paths(repo: GitRepo, sha: str, paths: Sequence[str], first_parent: bool) -> bool:
    """Whether the commit changes the paths as range_graph's listing sees it: against every parent
    (a merge that takes one parent's version of them does not), or with ``first_parent`` against
    its first parent alone (a merge that brings a branch's changes to them in does)."""
    mode = ("--first-parent",) if first_parent else ()
    return repo.out("rev-list", "--count", *mode, f"{sha}^!", "--", *paths).strip() not in ("", "0")


def good_inside(repo: GitRepo, goods: Sequence[str], merge: str) -> tuple[str, ...]:
    """The good commits that bound the search inside a merge: each good commit that is an ancestor
    of it, and for the others their merge bases with it (ancestors of a good commit are good)."""
    known: list[str] = []
    for good in goods:
        if repo.is_ancestor(good, merge):
            known.append(good)
        else:
            done = repo.git("merge-base", "--all", good, merge, check=False)
            known.extend(done.text().split() if done.ok else ())
    return tuple(dict.fromkeys(known))


def _not_ancestor(repo: GitRepo, good: str, bad: str) -> str:
    """What to do when the good commit is not an ancestor of the bad one (a stable branch's tag,
    say): git bisect would test their merge base first; say which commit that is."""
    done = repo.git("merge-base", good, bad, check=False)
    base = done.text().split()[0] if done.ok and done.text().strip() else None
    if base is None:
        return "they share no history"
    if base == bad:
        return "it descends from --bad (are the two swapped?)"
    return f"bisect from their merge base, --good {base[:12]}, if the test passes there"
