"""Review checks over a Series (and the tree it applies to): trailers, references, diffstat, code, style.

Each check returns models.Finding records: a severity, the patch ("2/5"), the file and line when
there is one, and a one-line explanation. `run_checks` runs them all and adds who must review.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from patchtool.jsonable import record
from patchtool.models import Finding, Patch, Revision, Series, Trailer
from patchtool.parse.cmoves import moved_from
from patchtool.parse.difftext import split_files
from patchtool.review import tree_checks as checks_tree
from patchtool.review.callers import check_callers
from patchtool.review.definitions import check_definition_left_behind
from patchtool.review.maintainers import (
    FileOwners,
    Maintainers,
    Subsystem,
    owners_in,
    parse_mailmap,
    parse_maintainers,
    subsystems_for,
)
from patchtool.review.signoffs import check_signoffs, check_trailer_form
from patchtool.vcs.repo import GitRepo

_COMMIT_REF = re.compile(
    r'\bcommit\s+(?P<sha>[0-9a-f]{7,40})\b(?:\s*\(\s*"(?P<subject>[^"\n]+)"\s*\))?', re.I
)
# `Fixes: abc123 ("subject")`, or with the subject bare in the parentheses up to the line's end
# (`Fixes: 50ebc3fc47fe (hw/intc/loongarch_ipi: Notify ipi object when cpu is plugged)`)
_FIXES_REF = re.compile(
    r'^Fixes:\s*(?P<sha>[0-9a-f]{7,40})\b'
    r'(?:\s*\(\s*(?:"(?P<subject>.+?)"\s*\)|(?P<bare>[^"\s][^\n]*?)\)[ \t]*$))?',
    re.M,
)
# "Linux commit abc123", "the kernel commit", "edk2 commit": another project's history, which a
# QEMU repository does not hold (master since June 2024: 12 of the 43 unknown references say so)
_FOREIGN = re.compile(
    r"\b(?:linux|kernel|edk2|seabios|opensbi|u-boot|glibc|gcc|llvm|musl|libvirt|dtc|slirp|binutils|gdb)"
    r"(?:\s+(?:kernel|upstream|tree|repository|git))*\s*$",
    re.I,
)


@record
class CheckResult:
    """Everything the checks found about the chosen revision."""

    findings: tuple[Finding, ...]
    subsystems: tuple[Subsystem, ...] = ()
    owners: tuple[FileOwners, ...] = ()
    checkpatch_ran: bool = False
    maintainers_found: bool = False


def _finding(severity: str, code: str, message: str, patch: Patch | None, **kw: object) -> Finding:
    label = f"{patch.index}/{patch.total}" if patch else None
    return Finding(severity, code, message, label, msgid=patch.msgid if patch else None, **kw)  # type: ignore[arg-type]


# ---- commit references -----------------------------------------------------------------------


def commit_references(message: str) -> list[tuple[str, str | None]]:
    """(sha, quoted subject or None) for `commit abc123 ("...")` and `Fixes: abc123 ("...")`."""
    refs: dict[str, str | None] = {}
    for rx in (_FIXES_REF, _COMMIT_REF):
        for m in rx.finditer(message):
            subject = m.group("subject") or (_unquote(m.group("bare")) if rx is _FIXES_REF else None)
            refs[m.group("sha").lower()] = " ".join(subject.split()) if subject else refs.get(m.group("sha"))
    return list(refs.items())


# the quote marks a bare subject may still be in: `('subject')`, `(“subject”)`
_QUOTED = re.compile(r"^(['\u2018\u201c])(.*)(['\u2019\u201d])$", re.S)


def _unquote(text: str | None) -> str | None:
    m = _QUOTED.match(text.strip()) if text else None
    return m.group(2) if m else text


def _foreign(message: str) -> set[str]:
    """The commits the message names as another project's ("Linux commit abc123")."""
    return {
        m.group("sha").lower()
        for m in _COMMIT_REF.finditer(message)
        if _FOREIGN.search(message[max(m.start() - 40, 0) : m.start()])
    }


def check_commit_refs(patch: Patch, repo: GitRepo) -> list[Finding]:
    """Each cited commit exists in the repository and a quoted subject matches its subject (a
    commit the message names as another project's is not looked for when it is not there). A
    hash the repository does not hold, quoted with the subject of a commit it does hold, names
    that commit: QEMU's master has 20 such since 2019, each the hash the cited commit had before
    it was rebased and merged (`Fixes: 855434b3b8 ("ppc/xive2: ...")` for 071456d0c7d4)."""
    found: list[Finding] = []
    fixes = {m.group("sha").lower() for m in _FIXES_REF.finditer(patch.message)}
    foreign = _foreign(patch.message) - fixes
    for sha, subject in commit_references(patch.message):
        full = repo.try_rev_parse(sha)
        if full is None and sha in foreign:
            continue
        if full is None:
            # prose may cite another project's commit (Linux, EDK2); a Fixes: trailer cites QEMU's.
            # A quoted subject that is a commit of ours names the commit meant: the hash is wrong.
            named = _commit_named(repo, subject, "") if subject is not None else None
            message = f"commit {sha} cited in the message is not in the repository"
            if named is not None:
                message += f"; its subject is that of commit {named[:12]}"
            found.append(
                _finding(
                    "warning" if sha in fixes or named is not None else "info",
                    "commit-ref-unknown",
                    message,
                    patch,
                )
            )
            continue
        actual = repo.commit_info(full).subject
        if subject is not None and " ".join(actual.split()) != subject:
            # a quote that still names that commit (spacing, a final period, `()`, its subsystem
            # prefix left out, its words put another way) is a note; one that is another commit's
            # subject, or shares few of this one's words, is the wrong hash or the wrong quote
            message = f'commit {sha} is "{actual}", not "{subject}" as the message says'
            other = None if _same_subject(actual, subject) else _commit_named(repo, subject, full)
            if other is not None:
                message += f"; that is the subject of commit {other[:12]}"
                severity = "warning"
            elif _same_subject(actual, subject):
                severity = "info"
            elif _reworded(actual, subject):
                severity, message = "info", message + " (the same words, put another way)"
            else:
                severity = "warning"
            found.append(_finding(severity, "commit-ref-subject", message, patch))
    return found


def _commit_named(repo: GitRepo, quoted: str, cited: str) -> str | None:
    """Another commit of HEAD's history whose subject the quote is (a Fixes: with the wrong hash)."""
    line = "^" + re.sub(r"([.\[\]*^$\\])", r"\\\1", quoted) + "$"  # a message line that is the quote
    done = repo.git(
        "log",
        "--basic-regexp",
        "--regexp-ignore-case",
        f"--grep={line}",
        "--format=%H%x00%s",
        "HEAD",
        "--",
        check=False,
        timeout=60,
    )
    if not done.ok:
        return None
    for row in done.text().splitlines():
        sha, _, subject = row.partition("\x00")
        if sha != cited and _same_subject(subject, quoted):
            return sha
    return None


# words a reworded quote may add or drop without naming another commit
_GLUE = frozenset(
    ("a", "an", "the", "to", "for", "of", "in", "on", "and", "or", "with", "by", "from", "at", "as", "is")
)


def _stems(text: str) -> list[str]:
    """A subject's words but the glue, each cut to a stem (`binaries`, `binary` -> `binar`)."""
    return [w.rstrip("s")[:5] for w in re.findall(r"[a-z0-9_]+", text.lower()) if w not in _GLUE]


def _reworded(actual: str, quoted: str) -> bool:
    """Whether a quote is the commit's subject in other words: three words or more after its
    prefixes, all of them in the subject (`Add HVF WFI handler` for `arm/hvf: Add a WFI handler`),
    or all but one plain word when it has five or more (`Google repo` for `Google's QEMU
    repository`). A word with a digit or `_` names a thing (`R6`, `FEAT_X`) and must be there.
    On QEMU's master since 2020, 33 of the 42 quotes that are neither a commit's subject nor cut
    from it are so; the 9 others are another commit's subject, a cover letter's, three quotes of
    two words, and four that abbreviate or add words (`CFMW`, `R6`, `insns`, `timer related`)."""
    words, have = _stems(_PREFIXES.sub("", quoted.strip())), set(_stems(actual))
    missing = [w for w in words if w not in have]
    if len(words) < 3 or any(re.search(r"[0-9_]", w) for w in missing):
        return False
    return len(missing) <= (1 if len(words) >= 5 else 0)


_PREFIXES = re.compile(r"^(?:[^\s:\"']+:\s*)+")


def _same_subject(actual: str, quoted: str) -> bool:
    """Whether a quoted subject is the commit's own but for spacing, case, a final period, `()`
    after a name, a doubled quote mark, its `subsystem:` prefixes (left out, or named as the
    directory is named now: `softmmu:` -> `system:`) when two words or more follow them, or its
    end cut off."""

    def bare(text: str) -> str:
        return re.sub(r"\s+", "", text).replace("()", "").strip("\"'").rstrip(".").lower()

    a, q = bare(actual), bare(quoted)
    if a == q or (bool(q) and a.endswith(q) and a[: -len(q)].endswith(":")):
        return True
    rest_a, rest_q = (_PREFIXES.sub("", t.strip().strip("\"'")) for t in (actual, quoted))
    return (len(rest_a.split()) >= 2 and bare(rest_a) == bare(rest_q)) or _shortened(actual, quoted)


def _shortened(actual: str, quoted: str) -> bool:
    """A long subject cut short (`... & 75`, `... type ...`): the quote is the subject's start, three
    words or more after its prefixes, maybe ending in an ellipsis. QEMU's master quotes 19 subjects
    so in Fixes: lines since 2020, and a few more with "..."."""
    cut = re.sub(r"\s*(\.\.\.|\u2026)$", "", quoted.strip().strip("\"'")).strip()
    whole = " ".join(actual.split()).lower()
    return len(_PREFIXES.sub("", cut).split()) >= 3 and whole.startswith(" ".join(cut.split()).lower())


# ---- diffstat --------------------------------------------------------------------------------


def _stated_path(path: str) -> str:
    """The new name in a diffstat path: `a/{x => y}/f` -> `a/y/f`, `old => new` -> `new`."""
    path = re.sub(r"\{[^{}]*? => ([^{}]*)\}", r"\1", path).replace("//", "/")
    new = path.split(" => ")[-1].strip()
    if path.startswith("...") and "{" not in path:
        # git cut the start of `dir/{old => new}/f` away: `...old => new}/f` or `.../new}/f`
        return ("..." if " => " in path else "") + new.replace("}", "")
    return new


def _match_stated(stated: str, paths: list[str], seen: set[str]) -> str | None:
    """The diff path a diffstat name stands for; git shortens long names to `.../tail`. Two files
    can be cut to the same name (`...mon-semi-target.h => common-semi-target.c}` for target/arm's
    and target/riscv's): git lists them in the diff's order, so the first not yet matched is it."""
    if stated in paths:
        return stated
    tails = [p for p in paths if stated.startswith("...") and ("/" + p).endswith(stated[3:])]
    return next((p for p in tails if p not in seen), tails[0] if tails else None)


def check_moves(patch: Patch) -> list[Finding]:
    """A name the patch moves from another file and changes on the way (parse.cmoves): the diff
    shows it removed there and added here, so what changed inside is easy to miss: code motion
    is read as a move, this one must be read as new code (real 24a4d59aa7: tb_tree_stats_iter()
    moved into accel/tcg/monitor.c with `tb_page_addr1(tb)` written out). Said to author and
    reviewer alike, so it gives no advice."""
    found = []
    for c in patch.summary.functions:
        source = moved_from(c)
        if source is not None and c.detail.endswith(", changed"):
            message = (
                f"{c.name} is moved from {source} and changed on the way: the diff shows it removed "
                "there and added here, not what changed"
            )
            found.append(_finding("info", "moved-and-changed", message, patch, file=c.file, line=c.line))
    return found


def check_diffstat(patch: Patch) -> list[Finding]:
    """The diffstat written in the mail matches the diff that follows it."""
    if not patch.diffstat:
        return []
    files = split_files(patch.diff)
    actual = {f.path: len(f.added) + len(f.removed) for f in files if not f.binary}
    paths = [f.path for f in files]
    found: list[Finding] = []
    seen: set[str] = set()

    def mismatch(message: str, path: str) -> None:
        found.append(_finding("warning", "diffstat-mismatch", message, patch, file=path))

    for line in patch.diffstat:
        stated = _stated_path(line.path)
        path = _match_stated(stated, paths, seen)
        if path is None:
            mismatch(f"diffstat lists {stated} but the diff does not change it", stated)
            continue
        seen.add(path)
        if path in actual and not line.binary and actual[path] != line.changes:
            mismatch(
                f"diffstat says {line.changes} changed lines in {path}, the diff has {actual[path]}", path
            )
    for path in sorted(set(paths) - seen):
        mismatch(f"the diff changes {path} but the diffstat does not list it", path)
    return found


# ---- maintainers -----------------------------------------------------------------------------


def load_maintainers(repo: GitRepo | None, base: str | None, tree: Path | None = None) -> Maintainers | None:
    """MAINTAINERS at the base commit, else in the given tree on disk; None when there is none."""
    if repo is not None and base is not None:
        done = repo.git("show", f"{base}:MAINTAINERS", check=False)
        if done.ok:
            return parse_maintainers(done.text())
    if tree is not None and (tree / "MAINTAINERS").is_file():
        return parse_maintainers((tree / "MAINTAINERS").read_text("utf-8", "replace"))
    return None


def load_mailmap(repo: GitRepo | None, base: str | None, tree: Path | None = None) -> dict[str, str]:
    """The tree's .mailmap (commit address -> proper address); empty when there is none."""
    if repo is not None and base is not None:
        done = repo.git("show", f"{base}:.mailmap", check=False)
        return parse_mailmap(done.text()) if done.ok else {}
    if tree is not None and (tree / ".mailmap").is_file():
        return parse_mailmap((tree / ".mailmap").read_text("utf-8", "replace"))
    return {}


def _all_trailers(rev: Revision) -> list[Trailer]:
    return [t for p in rev.patches for t in (*p.trailers, *p.review_trailers)]


def review_status(
    rev: Revision, maint: Maintainers, mailmap: dict[str, str] | None = None
) -> tuple[tuple[Subsystem, ...], tuple[FileOwners, ...], list[Finding]]:
    """Sections, owners per file, and a finding per section whose people have not reviewed yet."""
    paths = list(dict.fromkeys(f.path for p in rev.patches for f in split_files(p.diff)))
    diff_text = "\n".join(p.diff for p in rev.patches)
    subsystems = subsystems_for(maint, paths, diff_text, _all_trailers(rev), mailmap)
    owners = owners_in(subsystems, paths)
    found: list[Finding] = []
    for s in subsystems:
        people = (*s.section.maintainers, *s.section.reviewers)
        if people and not s.approved_by and not s.by_keyword:
            names = ", ".join(str(a) for a in people)
            found.append(
                Finding(
                    "info",
                    "no-maintainer-review",
                    f"no Reviewed-by/Acked-by yet from {s.section.name} ({names})",
                )
            )
        for person, given in s.by_name:
            found.append(
                Finding(
                    "info",
                    "maintainer-review-by-name",
                    f"{s.section.name}: counted the review from {given} as {person} "
                    "(same name, address not in MAINTAINERS or .mailmap)",
                )
            )
    for o in owners:
        if not o.maintainers and not o.reviewers:
            found.append(
                Finding(
                    "info",
                    "no-maintainer",
                    "no maintainer or reviewer for this file in MAINTAINERS",
                    file=o.path,
                )
            )
    return subsystems, owners, found


# ---- pull requests ---------------------------------------------------------------------------

_HOW = {
    "message-id": "its Message-Id/Link trailer",
    "patch-id": "the same patch-id",
    "subject": "the same subject",
    "named": "its Message-Id/Link trailer; that posting is not in the thread",
}


def pull_findings(series: Series) -> list[Finding]:
    """The pull request, and for each patch the earlier posting it was reviewed as."""
    pull = series.pull
    if pull is None:
        return []
    where = " ".join(x for x in (pull.url, pull.tag) if x) or "a repository the cover does not name"
    found = [Finding("info", "pull-request", f"pull request: {where}")]
    links = {link.patch: link for link in pull.links}
    for p in series.revision.patches:
        label = f"{p.index}/{p.total}"
        link = links.get(label)
        if link is None:
            message = "no earlier [PATCH] posting of this patch found"
            found.append(Finding("info", "pull-unlinked", message, label, msgid=p.msgid))
            continue
        given = "; ".join(f"{t.key}: {t.value}" for t in link.reviews)
        reviews = f" with {given}" if given else ""
        message = f"posted earlier as <{link.posting}> (by {_HOW.get(link.how, link.how)}){reviews}"
        found.append(Finding("info", "pull-link", message, label, msgid=p.msgid))
    return found


# ---- everything ------------------------------------------------------------------------------


def dedupe(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Drop repeats of the same finding (the series parser may report a diffstat mismatch too)."""
    seen: set[tuple[object, ...]] = set()
    out: list[Finding] = []
    for f in findings:
        key = (f.code, f.patch, f.file, f.line, f.message if f.code != "diffstat-mismatch" else "")
        if key not in seen:
            seen.add(key)
            out.append(f)
    return tuple(out)


# checkpatch errors that say again what a check of ours said of the same patch, with less
_SAID_BY_US = {
    "Missing Signed-off-by": "dco-missing-author-signoff",
    "Author email address is mangled": "author-mangled",
    "space required after Signed-off-by:": "trailer-malformed",  # `Signed-off-by:Name <a@b>`
    'The correct form is "Signed-off-by"': "trailer-malformed",
}


def said_already(style: list[Finding], found: list[Finding]) -> list[Finding]:
    """checkpatch's error is a note when our own finding on that patch already says it."""
    ours = {(f.code, f.patch) for f in found if f.severity != "info"}
    out = []
    for f in style:
        text = f.message.removeprefix("checkpatch: ")
        code = next((c for start, c in _SAID_BY_US.items() if text.startswith(start)), None)
        if f.severity == "error" and code is not None and (code, f.patch) in ours:
            f = replace(f, severity="info", message=f"{f.message} (as {code} says)")
        out.append(f)
    return out


def run_checks(
    series: Series,
    *,
    repo: GitRepo | None = None,
    base: str | None = None,
    stubs: str = "include/system/kvm.h=accel/stubs/kvm-stub.c",
    tree: Path | None = None,
    checkpatch: bool = True,
    checkpatch_timeout: float = 600.0,
    checkpatch_jobs: int | None = None,
) -> CheckResult:
    """Run every check on the chosen revision; tree checks need the repository and the base."""
    rev = series.revision
    # check_diffstat below reads git's shortened rename paths; the parser's own copy does not
    found = [f for f in series.findings if f.code != "diffstat-mismatch"] + pull_findings(series)
    for patch in rev.patches:
        found += check_signoffs(patch) + check_trailer_form(patch) + check_diffstat(patch)
        found += check_moves(patch)
        if repo is not None:
            found += check_commit_refs(patch, repo)
    found += checks_tree.check_stubs(rev, checks_tree.parse_stub_map(stubs), repo, base)
    if repo is not None and base is not None:
        found += check_callers(rev, repo, base)
    found += check_definition_left_behind(rev)
    ran = False
    if checkpatch and repo is not None and base is not None:
        ran, style = checks_tree.run_checkpatch(rev, repo, base, tree, checkpatch_timeout, checkpatch_jobs)
        found += said_already(style, found)
    maint = load_maintainers(repo, base, tree)
    subsystems: tuple[Subsystem, ...] = ()
    owners: tuple[FileOwners, ...] = ()
    if maint is not None:
        mailmap = load_mailmap(repo, base, tree)
        subsystems, owners, extra = review_status(rev, maint, mailmap)
        found += extra
    return CheckResult(dedupe(found), subsystems, owners, ran, maint is not None)
