"""A backport that applies cleanly into a function that lacks, on the target, a name its added lines
take from the function upstream (a parameter added later, a local): a warning, never silent."""

from __future__ import annotations

from pathlib import Path

from patchtool.apply.backcheck import CODE
from patchtool.apply.backport import NEEDS_ADAPTATION, NOT_BUILT, backport_series, series_from_commits
from patchtool.config import load_settings
from patchtool.vcs.repo import GitRepo
from tests.plugins.applyrepo import backport_mail, commit_all, edit
from tests.plugins.gitutil import git, make_repo

STABLE = """#include "qemu/osdep.h"

int snap_load(State *s, const char *name)
{
    int size = s->size;
    int a = 0;
    int b = 0;

    if (size < 0) {
        return -1;
    }
    return load(s, name, a + b);
}
"""
# the names are everywhere else in the tree, as errp is in QEMU's: only the function lacks them
OTHER = """int other_open(State *s, int limit, Error **errp)
{
    return open_with(s, limit, errp);
}
"""
CHECK = """    if (size < 0) {
        return -1;
    }
"""
ADDED = """    if (size > limit) {
        int over = size - limit;
        error_setg(errp, "%s: %d too large", name, over);
        return -1;
    }
"""


ERRP_AND_LIMIT = (
    "int snap_load(State *s, const char *name)\n{\n",
    "int snap_load(State *s, const char *name, Error **errp)\n{\n    int limit = s->limit;\n",
)


def _backport(tmp_path: Path, *, stable_has_them: bool) -> tuple[GitRepo, object]:
    """The fix, made upstream after snap_load got errp and limit, backported onto stable: a
    stable forked before that change, or after it (then an unrelated upstream commit follows)."""
    path = make_repo(tmp_path / "r", {"block/snap.c": STABLE, "block/other.c": OTHER})
    if not stable_has_them:
        git(path, "branch", "stable")
    edit(path / "block/snap.c", *ERRP_AND_LIMIT)
    commit_all(path, "snap: report errors, bound the size")
    if stable_has_them:
        git(path, "branch", "stable")
        edit(path / "block/snap.c", "    int a = 0;\n", "    int a = 1;\n")
        commit_all(path, "snap: start at one")
    edit(path / "block/snap.c", CHECK, CHECK + ADDED)
    fix = commit_all(path, "snap: refuse a size over the limit")
    repo = GitRepo(path)
    settings = load_settings({"data_dir": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache")})
    result = backport_series(
        repo, series_from_commits(repo, [fix]), settings, onto="stable", source_commits=[fix]
    )
    return repo, result


def test_a_name_the_function_has_only_upstream_is_flagged_with_both_signatures(tmp_path: Path) -> None:
    # upstream the function took an Error **errp and a local limit since; the fix applies cleanly
    # on stable, where neither exists: git's tree, but not one that builds
    repo, result = _backport(tmp_path, stable_has_them=False)
    assert result.head is not None and "error_setg(errp" in repo.out("show", f"{result.head}:block/snap.c")
    assert result.status == NEEDS_ADAPTATION
    said = sorted((f.code, f.message.split(" upstream")[0], f.line) for f in result.findings)
    assert said == [
        (CODE, "identifier errp is a parameter of snap_load", 14),
        (CODE, "identifier limit is a local of snap_load", 12),
    ]
    errp = next(f for f in result.findings if "errp" in f.message)
    assert "{" not in errp.message  # the signatures, not the bodies
    assert "there: int snap_load(State *s, const char *name)" in errp.message
    assert "upstream: int snap_load(State *s, const char *name, Error **errp)" in errp.message


def test_names_the_target_function_has_or_the_patch_declares_are_not_flagged(tmp_path: Path) -> None:
    # the same fix where stable already has errp and limit: over is the patch's own local, name
    # and size the function's; nothing to say
    _, result = _backport(tmp_path, stable_has_them=True)
    assert result.status == NOT_BUILT and result.findings == ()


NEW_CODE = """    if (size > SNAP_LIMIT) {
        return snap_refuse(s, size);
    }
"""
HELPER = """#define SNAP_LIMIT 4096

static int snap_refuse(State *s, int size)
{
    int snap_code = size - SNAP_LIMIT;
    return load(s, NULL, snap_code);
}

int snap_load(State *s, const char *name)
"""


def test_names_the_patch_defines_itself_are_never_missing_on_the_target(tmp_path: Path) -> None:
    # the fix brings its own macro, helper and local; upstream later moved the file, so the names'
    # upstream origin reads as that move: still the patch's own names, not the target's lack
    path = make_repo(tmp_path / "r", {"block/snap.c": STABLE, "block/other.c": OTHER})
    git(path, "branch", "stable")
    edit(path / "block/snap.c", CHECK, CHECK + NEW_CODE)
    edit(path / "block/snap.c", "int snap_load(State *s, const char *name)\n", HELPER)
    fix = commit_all(path, "snap: refuse a size over the limit")
    git(path, "mv", "block/snap.c", "block/snapshot.c")
    git(path, "commit", "-q", "-m", "block: rename snap.c to snapshot.c")
    repo = GitRepo(path)
    settings = load_settings({"data_dir": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache")})
    series = series_from_commits(repo, [fix])
    result = backport_series(repo, series, settings, onto="stable", written_against="HEAD")
    assert result.head is not None and "snap_refuse(s, size)" in repo.out(
        "show", f"{result.head}:block/snap.c"
    )
    assert result.status == NOT_BUILT and result.findings == ()


def test_a_prototype_or_an_extern_defines_nothing() -> None:
    # a patch that declares a function or a variable defined elsewhere still needs the definition
    from patchtool.apply.backcheck import defined_names

    added = [
        "#define SNAP_LIMIT 4096",
        "void snap_flush(State *s);",
        "extern int snap_count;",
        "static int snap_total = 0, *snap_last;",
        "static void snap_step(State *s)",
        "{",
        "    int snap_code = 1;",
        "}",
        "enum { SNAP_ON, SNAP_OFF };",
        "typedef struct SnapInfo { int snap_size; } SnapInfo;",
    ]
    diff = "diff --git a/s.c b/s.c\n--- a/s.c\n+++ b/s.c\n@@ -1,0 +1,10 @@\n" + "".join(
        f"+{a}\n" for a in added
    )
    names = defined_names(diff)
    assert {"SNAP_LIMIT", "snap_total", "snap_last", "snap_step", "snap_code", "SNAP_ON", "SNAP_OFF"} <= names
    assert {"snap_size", "SnapInfo"} <= names
    assert not {"snap_flush", "snap_count"} & names


OPEN = """#include "qemu/osdep.h"

int snap_open(State *s)
{
    Driver *raw_drv;
    int ret;

    raw_drv = find_driver("raw");
    ret = open_with(s, raw_drv);
    return ret;
}
"""


def test_a_local_the_patch_drops_for_the_global_of_its_name_is_not_flagged(tmp_path: Path) -> None:
    # the fix drops the local and takes the address of the global driver of the same name
    # (stable-2.2's bdrv_qcow2): the added line uses the global, on the branch as upstream
    path = make_repo(tmp_path / "r", {"block/snap.c": OPEN, "include/drv.h": "extern Driver raw_drv;\n"})
    git(path, "branch", "stable")
    edit(path / "block/snap.c", "    Driver *raw_drv;\n", "")
    edit(path / "block/snap.c", '    raw_drv = find_driver("raw");\n    ret = open_with(s, raw_drv);\n',
         "    ret = open_with(s, &raw_drv);\n")  # fmt: skip
    fix = commit_all(path, "snap: open with the raw driver itself")
    git(path, "checkout", "-q", "stable")
    (path / "VERSION").write_text("1.0.1\n")
    commit_all(path, "Update version for 1.0.1 release")
    repo = GitRepo(path)
    settings = load_settings({"data_dir": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache")})
    result = backport_series(
        repo, series_from_commits(repo, [fix]), settings, onto="stable", source_commits=[fix]
    )
    assert result.head is not None and "open_with(s, &raw_drv)" in repo.out(
        "show", f"{result.head}:block/snap.c"
    )
    assert result.status == NOT_BUILT and result.findings == ()


DIMM = """#include "qemu/osdep.h"

static void dimm_realize(Device *dev, Error **errp)
{
    Dimm *dimm = DIMM(dev);

    if (!dimm->memdev) {
        error_setg(errp, "memdev is not set");
        return;
    }
}
"""
NODE_CHECK = """    if (dimm->node >= nb_nodes) {
        error_setg(errp, "node %d exceeds %d", dimm->node, nb_nodes);
        return;
    }
"""


def test_a_mail_written_on_the_target_is_not_judged_by_a_later_upstream_function(tmp_path: Path) -> None:
    # stable-2.1's pc-dimm fix: written against a tree the stable branch still has (it holds the
    # mail's preimage blob), using the global nb_nodes; years later upstream's function gained a
    # local of that name. That later function says nothing about the backport.
    files = {"hw/dimm.c": DIMM, "include/numa.h": "extern int nb_nodes;\n"}
    path = make_repo(tmp_path / "r", files)
    git(path, "branch", "stable")
    edit(path / "hw/dimm.c", "        return;\n    }\n}\n", "        return;\n    }\n" + NODE_CHECK + "}\n")
    fix = commit_all(path, "dimm: validate the node property")
    edit(path / "hw/dimm.c", "    Dimm *dimm = DIMM(dev);\n",
         "    Dimm *dimm = DIMM(dev);\n    int nb_nodes = machine_nodes(dev);\n")  # fmt: skip
    commit_all(path, "dimm: take the node count from the machine")
    repo, result = backport_mail(tmp_path, path, fix)
    assert result.source_base == repo.rev_parse("stable")  # the target holds the preimage
    assert result.head is not None
    assert "dimm->node >= nb_nodes" in repo.out("show", f"{result.head}:hw/dimm.c")
    assert result.status == NOT_BUILT and result.findings == ()
