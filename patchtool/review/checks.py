"""Review checks over a Series (and the tree it applies to): trailers, references, diffstat, code, style.

Each check returns models.Finding records: a severity, the patch ("2/5"), the file and line when
there is one, and a one-line explanation. `run_checks` runs them all and adds who must review.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from patchtool.models import Address, Finding, Patch, Revision, Series, Trailer
from patchtool.parse.difftext import split_files
from patchtool.parse.trailers import KNOWN_KEYS, PERSON_KEYS
from patchtool.review import tree_checks as checks_tree
from patchtool.review.maintainers import (
    FileOwners,
    Maintainers,
    Subsystem,
    owners_of,
    parse_address,
    parse_maintainers,
    subsystems_for,
)
from patchtool.vcs.repo import GitRepo

# A Cc: trailer may name a bare list address, so it is not held to the <address> form.
PERSON_TRAILERS = {k.lower() for k in PERSON_KEYS - {"Cc"}}
_TRAILER_LINE = re.compile(
    r"^(?P<key>[A-Za-z][A-Za-z0-9-]*(?: [A-Za-z][A-Za-z0-9-]*)?)(?P<sp>\s*):(?P<rest>.*)$"
)
_FIXES_FORM = re.compile(r'^[0-9a-f]{12,40} \(".+"\)$')
_COMMIT_REF = re.compile(
    r'\bcommit\s+(?P<sha>[0-9a-f]{7,40})\b(?:\s*\(\s*"(?P<subject>[^"\n]+)"\s*\))?', re.I
)
_FIXES_REF = re.compile(r'^Fixes:\s*(?P<sha>[0-9a-f]{7,40})\b(?:\s*\(\s*"(?P<subject>.+?)"\s*\))?', re.M)


@dataclass(frozen=True)
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


def _email(t: Trailer) -> str:
    return (t.address.email if t.address else parse_address(t.value).email).lower()


def _same_person(a: Address, t: Trailer) -> bool:
    other = t.address or parse_address(t.value)
    if a.email.lower() == other.email.lower():
        return True
    return bool(a.name) and a.name.casefold() == other.name.casefold()


# ---- DCO and trailer order ------------------------------------------------------------------


def check_signoffs(patch: Patch) -> list[Finding]:
    """DCO: the author signs off; each Co-developed-by is followed by a SoB; the sender signs last."""
    trailers = list(patch.trailers)
    author_sob = next(
        (i for i, t in enumerate(trailers) if t.key == "Signed-off-by" and _same_person(patch.author, t)),
        None,
    )
    found: list[Finding] = []
    if author_sob is None:
        message = f"no Signed-off-by from the author {patch.author}"
        found.append(_finding("error", "dco-missing-author-signoff", message, patch))
    found += _codev_signoffs(patch, trailers)
    if author_sob is not None:
        found += _signoffs_before_author(patch, trailers[:author_sob])
    sobs = [t for t in trailers if t.key == "Signed-off-by"]
    sender = patch.sender or patch.author
    if sobs and not _same_person(sender, sobs[-1]):
        message = f"the last Signed-off-by should be the sender's ({sender}), not {sobs[-1].value}"
        found.append(_finding("warning", "sender-signoff-not-last", message, patch))
    return found


def _codev_signoffs(patch: Patch, trailers: list[Trailer]) -> list[Finding]:
    """Each Co-developed-by must be immediately followed by the same person's Signed-off-by."""
    found = []
    for i, t in enumerate(trailers):
        if t.key != "Co-developed-by":
            continue
        nxt = trailers[i + 1] if i + 1 < len(trailers) else None
        if nxt is None or nxt.key != "Signed-off-by" or _email(nxt) != _email(t):
            message = f"Co-developed-by: {t.value} is not followed by that person's Signed-off-by"
            found.append(_finding("error", "codev-without-signoff", message, patch))
    return found


def _signoffs_before_author(patch: Patch, before: list[Trailer]) -> list[Finding]:
    """A sign-off before the author's is a co-author's: it needs a Co-developed-by (seed 003)."""
    codevs = {_email(t) for t in patch.trailers if t.key == "Co-developed-by"}
    return [
        _finding(
            "warning",
            "signoff-without-codev",
            f"Signed-off-by: {t.value} comes before the author's but has no Co-developed-by "
            "(add one, or fix the author)",
            patch,
        )
        for t in before
        if t.key == "Signed-off-by" and _email(t) not in codevs
    ]


def trailer_block(message: str) -> list[str]:
    """The lines of the commit message's last paragraph (where trailers live)."""
    paragraphs = re.split(r"\n\s*\n", message.strip())
    return paragraphs[-1].splitlines() if paragraphs and paragraphs[-1] else []


def check_trailer_form(patch: Patch) -> list[Finding]:
    """Trailers are `Key: value` with a known key spelled canonically, people with <address>."""
    found: list[Finding] = []
    canon = {k.lower(): k for k in KNOWN_KEYS}
    for line in trailer_block(patch.message):
        m = _TRAILER_LINE.match(line)
        if not m or line[:1].isspace():
            continue
        key, rest = m.group("key"), m.group("rest")
        fixed = canon.get(key.replace(" ", "-").lower())
        if fixed is None:
            continue  # not a trailer we know ("Note: ..."); git would keep it as text
        problem = None
        if " " in key or m.group("sp"):
            problem = f"malformed trailer {line.strip()!r}: write `{fixed}: ...`"
        elif key != fixed and key.lower() != "message-id":
            problem = f"trailer {key!r} should be spelled {fixed!r}"
        elif not rest.startswith(" ") or not rest.strip():
            problem = f"malformed trailer {line.strip()!r}: `{fixed}: value` needs one space and a value"
        elif fixed.lower() in PERSON_TRAILERS and not re.search(r"<[^<>@\s]+@[^<>\s]+>", rest):
            problem = f"trailer {line.strip()!r} has no <e-mail address>"
        elif fixed == "Fixes" and not _FIXES_FORM.match(rest.strip()):
            problem = f'Fixes: should read `Fixes: <12+ hex digits> ("subject")`, not {rest.strip()!r}'
        if problem:
            found.append(_finding("warning", "trailer-malformed", problem, patch))
    return found


# ---- commit references -----------------------------------------------------------------------


def commit_references(message: str) -> list[tuple[str, str | None]]:
    """(sha, quoted subject or None) for `commit abc123 ("...")` and `Fixes: abc123 ("...")`."""
    refs: dict[str, str | None] = {}
    for rx in (_FIXES_REF, _COMMIT_REF):
        for m in rx.finditer(message):
            subject = m.group("subject")
            refs[m.group("sha").lower()] = " ".join(subject.split()) if subject else refs.get(m.group("sha"))
    return list(refs.items())


def check_commit_refs(patch: Patch, repo: GitRepo) -> list[Finding]:
    """Each cited commit exists in the repository and a quoted subject matches its subject."""
    found: list[Finding] = []
    for sha, subject in commit_references(patch.message):
        full = repo.try_rev_parse(sha)
        if full is None:
            found.append(
                _finding(
                    "warning",
                    "commit-ref-unknown",
                    f"commit {sha} cited in the message is not in the repository",
                    patch,
                )
            )
            continue
        actual = repo.commit_info(full).subject
        if subject is not None and " ".join(actual.split()) != subject:
            found.append(
                _finding(
                    "warning",
                    "commit-ref-subject",
                    f'commit {sha} is "{actual}", not "{subject}" as the message says',
                    patch,
                )
            )
    return found


# ---- diffstat --------------------------------------------------------------------------------


def _stated_path(path: str) -> str:
    """The new name in a diffstat path: `a/{x => y}/f` -> `a/y/f`, `old => new` -> `new`."""
    path = re.sub(r"\{[^{}]*? => ([^{}]*)\}", r"\1", path).replace("//", "/")
    return path.split(" => ")[-1].strip()


def _match_stated(stated: str, paths: list[str]) -> str | None:
    """The diff path a diffstat name stands for; git shortens long names to `.../tail`."""
    for p in paths:
        if p == stated or (stated.startswith(".../") and ("/" + p).endswith(stated[3:])):
            return p
    return None


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
        path = _match_stated(stated, paths)
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


def _all_trailers(rev: Revision) -> list[Trailer]:
    return [t for p in rev.patches for t in (*p.trailers, *p.review_trailers)]


def review_status(
    rev: Revision, maint: Maintainers
) -> tuple[tuple[Subsystem, ...], tuple[FileOwners, ...], list[Finding]]:
    """Sections, owners per file, and a finding per section whose people have not reviewed yet."""
    paths = list(dict.fromkeys(f.path for p in rev.patches for f in split_files(p.diff)))
    diff_text = "\n".join(p.diff for p in rev.patches)
    subsystems = subsystems_for(maint, paths, diff_text, _all_trailers(rev))
    owners = tuple(owners_of(maint, p) for p in paths)
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


def run_checks(
    series: Series,
    *,
    repo: GitRepo | None = None,
    base: str | None = None,
    stubs: str = "include/system/kvm.h=accel/stubs/kvm-stub.c",
    tree: Path | None = None,
    checkpatch: bool = True,
) -> CheckResult:
    """Run every check on the chosen revision; tree checks need the repository and the base."""
    rev = series.revision
    found: list[Finding] = list(series.findings)
    for patch in rev.patches:
        found += check_signoffs(patch) + check_trailer_form(patch) + check_diffstat(patch)
        if repo is not None:
            found += check_commit_refs(patch, repo)
    found += checks_tree.check_stubs(rev, checks_tree.parse_stub_map(stubs), repo, base)
    if repo is not None and base is not None:
        found += checks_tree.check_stale_callers(rev, repo, base)
    ran = False
    if checkpatch and repo is not None and base is not None:
        ran, style = checks_tree.run_checkpatch(rev, repo, base, tree)
        found += style
    maint = load_maintainers(repo, base, tree)
    subsystems: tuple[Subsystem, ...] = ()
    owners: tuple[FileOwners, ...] = ()
    if maint is not None:
        subsystems, owners, extra = review_status(rev, maint)
        found += extra
    return CheckResult(dedupe(found), subsystems, owners, ran, maint is not None)
