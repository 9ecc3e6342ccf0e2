"""Where a backported hunk lands when the lines it changes occur several times on the older branch:
in another function than upstream (backport-hunk-elsewhere), or in one copy of several
(backport-duplicate-site). The shape of stable-2.10's websocket fix: three callbacks held the same
test there, upstream had kept one."""

from __future__ import annotations

from pathlib import Path

from patchtool.apply.backport import NEEDS_ADAPTATION, backport_series, series_from_commits
from patchtool.apply.backsites import DUPLICATE, ELSEWHERE, landing_sites
from patchtool.config import load_settings
from patchtool.vcs.repo import GitRepo
from tests.plugins.applyrepo import commit_all, edit
from tests.plugins.gitutil import git, make_repo

TEST = """    if (s->raw_in.offset) {
        cond |= WS_IN;
    }
    if (s->raw_out.offset < WS_MAX_BUFFER) {
        cond |= WS_OUT;
    }
"""
FIXED = TEST.replace("s->raw_out.offset", "s->enc_out.offset")


def callback(name: str, body: str = TEST) -> str:
    return f"static int {name}(WsSource *s)\n{{\n    int cond = 0;\n\n{body}    return cond;\n}}\n\n"


STABLE = '#include "ws.h"\n\n' + "".join(callback(f"ws_source_{n}") for n in ("prepare", "check", "dispatch"))
# upstream kept the test in check alone (the others call it), and check also looks at io_eof
UPSTREAM = (
    '#include "ws.h"\n\n'
    + callback("ws_source_check", TEST.replace("s->raw_in.offset)", "s->raw_in.offset || s->io_eof)"))
    + "static int ws_source_prepare(WsSource *s)\n{\n    return ws_source_check(s);\n}\n\n"
    + "static int ws_source_dispatch(WsSource *s)\n{\n    return ws_source_check(s);\n}\n"
)


def _world(tmp_path: Path, upstream: str = UPSTREAM) -> tuple[GitRepo, str]:
    """A stable branch with three copies of the test; upstream with `upstream`, then the fix."""
    path = make_repo(tmp_path / "r", {"io/ws.c": STABLE})
    git(path, "branch", "stable")
    (path / "io/ws.c").write_text(upstream)
    commit_all(path, "io: keep the websocket test in one place")
    edit(path / "io/ws.c", "    if (s->raw_out.offset < WS_MAX_BUFFER) {\n",
         "    if (s->enc_out.offset < WS_MAX_BUFFER) {\n")  # fmt: skip
    fix = commit_all(path, "io: watch the encoded output, not the raw one")
    return GitRepo(path), fix


def _stable_commit(repo: GitRepo, function: str) -> str:
    """The fix made by hand on stable, in the copy of one callback."""
    path = Path(repo.path)
    git(path, "checkout", "-q", "stable")
    text = (path / "io/ws.c").read_text()
    (path / "io/ws.c").write_text(text.replace(callback(function), callback(function, FIXED)))
    return commit_all(path, "io: watch the encoded output (stable)")


def _sites(repo: GitRepo, fix: str, commit: str) -> list[tuple[str, str]]:
    diff = repo.git("show", "--format=", fix).text()
    found = landing_sites(repo, commit, diff, "stable", "1/1", lambda p: p)
    return [(f.code, f.message) for f in found]


def test_a_hunk_in_another_copy_than_upstream_is_flagged_with_both_functions(tmp_path: Path) -> None:
    repo, fix = _world(tmp_path)
    said = _sites(repo, fix, _stable_commit(repo, "ws_source_prepare"))
    assert said == [
        (
            ELSEWHERE,
            "io/ws.c: hunk 1 changes ws_source_prepare() on stable; upstream it changes"
            " ws_source_check(), which stable has too",
        ),
        (
            DUPLICATE,
            "io/ws.c: the lines hunk 1 changes occur 3 times on stable (ws_source_prepare,"
            " ws_source_check, ws_source_dispatch), 1 upstream; the fix may be needed in each copy",
        ),
    ]


def test_of_two_copies_upstream_the_one_near_the_hunk_is_the_one_it_changes(tmp_path: Path) -> None:
    # upstream kept the test in check and dispatch and fixed the one in dispatch; on stable the
    # fix went into check: elsewhere (the first copy upstream is not the hunk's). Upstream left its
    # other copy alone on purpose, so stable's third copy is no news (stable-1.3's test-aio.c)
    path = make_repo(tmp_path / "r", {"io/ws.c": STABLE})
    git(path, "branch", "stable")
    two = UPSTREAM.replace(
        "static int ws_source_dispatch(WsSource *s)\n{\n    return ws_source_check(s);\n}\n",
        callback("ws_source_dispatch"),
    )
    (path / "io/ws.c").write_text(two)
    commit_all(path, "io: keep the websocket test in two places")
    (path / "io/ws.c").write_text(
        two.replace(callback("ws_source_dispatch"), callback("ws_source_dispatch", FIXED))
    )
    fix = commit_all(path, "io: watch the encoded output when dispatching")
    repo = GitRepo(path)
    said = _sites(repo, fix, _stable_commit(repo, "ws_source_check"))
    assert [code for code, _ in said] == [ELSEWHERE]
    assert "upstream it changes ws_source_dispatch()" in said[0][1]


def test_the_right_copy_of_several_still_says_the_others_may_need_the_fix(tmp_path: Path) -> None:
    repo, fix = _world(tmp_path)
    said = _sites(repo, fix, _stable_commit(repo, "ws_source_check"))
    assert [code for code, _ in said] == [DUPLICATE]


def test_copies_upstream_has_as_well_are_no_news(tmp_path: Path) -> None:
    # upstream still has the three copies and its fix changed one on purpose: nothing to say
    upstream = STABLE.replace("s->raw_in.offset)", "s->raw_in.offset || s->io_eof)", 1)
    repo, fix = _world(tmp_path, upstream)
    assert _sites(repo, fix, _stable_commit(repo, "ws_source_prepare")) == []


def test_a_fix_to_some_of_many_copies_upstream_says_nothing_of_more_copies_here(tmp_path: Path) -> None:
    # stable-1.3's tests/test-aio.c: an assertion 18 times upstream, the fix changes 2 of them, 20
    # on stable; the backport changes the same 2 (the maintainer's). The fix that changes its only
    # copy upstream still says so (the tests above).
    check = "    g_assert(!aio_poll_events(ctx, false));\n"
    tests = "".join(f"static void test_{n}(void)\n{{\n    poll_setup({n});\n{check}}}\n\n" for n in range(5))
    old = "static void test_old(void)\n{\n" + check + "}\n"
    path = make_repo(tmp_path / "r", {"tests/aio.c": tests + old})
    git(path, "branch", "stable")
    (path / "tests/aio.c").write_text(tests)  # upstream dropped one test since
    commit_all(path, "tests: drop the old test")
    fixed = check.replace("!aio_poll", "aio_poll")
    for n in (1, 3):
        edit(path / "tests/aio.c", f"    poll_setup({n});\n{check}", f"    poll_setup({n});\n{fixed}")
    fix = commit_all(path, "aio: a pending event makes the poll return true")
    repo = GitRepo(path)
    git(path, "checkout", "-q", "stable")
    for n in (1, 3):
        edit(path / "tests/aio.c", f"    poll_setup({n});\n{check}", f"    poll_setup({n});\n{fixed}")
    assert _sites(repo, fix, commit_all(path, "aio: a pending event makes the poll return true")) == []


def test_the_backport_of_such_a_fix_needs_adaptation(tmp_path: Path) -> None:
    repo, fix = _world(tmp_path)
    settings = load_settings({"data_dir": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache")})
    git(Path(repo.path), "checkout", "-q", "stable")
    result = backport_series(
        repo, series_from_commits(repo, [fix]), settings, onto="stable", source_commits=[fix]
    )
    assert result.head is not None
    assert result.status == NEEDS_ADAPTATION
    assert DUPLICATE in {f.code for f in result.findings}


def test_an_index_line_that_names_no_object_reaches_no_git(tmp_path: Path) -> None:
    # the mail's index line is untrusted text: an option in its place is never passed to git, and
    # the checks then say nothing (the upstream file is unknown)
    repo, fix = _world(tmp_path)
    diff = repo.git("show", "--format=", fix).text()
    blob = diff.split("\nindex ", 1)[1].split("..", 1)[0]
    assert _sites(repo, fix, _stable_commit(repo, "ws_source_prepare"))  # the real blob: warnings
    for forged in ("--batch-all-objects", "HEAD:io/ws.c"):
        forged_diff = diff.replace(f"index {blob}..", f"index {forged}..", 1)
        commit = repo.out("rev-parse", "HEAD")
        assert landing_sites(repo, commit, forged_diff, "stable", "1/1", lambda p: p) == []
