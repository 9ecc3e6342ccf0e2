"""Review checks that read C code and the tree: missing stubs, stale callers, the tree's checkpatch.pl."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from patchtool import proc
from patchtool.models import Finding, FunctionChange, Patch, Revision
from patchtool.parse.difftext import FileDiff, split_files
from patchtool.review import accelonly
from patchtool.review.file_style import Counts, weigh_by_file_style
from patchtool.review.misreads import Quote, misread
from patchtool.vcs.repo import GitRepo

_CHECKPATCH_MSG = re.compile(r"^(?P<sev>ERROR|WARNING|CHECK):\s*(?P<msg>.+)$")
_CHECKPATCH_WHERE = re.compile(r"^#\d+:\s*FILE:\s*(?P<file>[^:]+):(?P<line>\d+):")
_SYMLINK = "120000"  # git's mode of a symbolic link
# tests/tcg/ (but its plugins/) holds guest programs, built by a cross compiler without QEMU's
# headers or glib: checkpatch's advice to use QEMU's or glib's helpers cannot be followed there,
# and volatile and extern are those programs' usual C (master: volatile in 108 of their files)
_GUEST_TESTS = re.compile(r"^tests/tcg/(?!plugins/)")
_HOST_ADVICE = re.compile(
    r"^use (?:g_|qemu_|ctz|aio_)\w*\(\)|^Use of volatile is usually wrong|^externs should be avoided"
)
_NO_SPDX = (".json",)  # a format with no comments
# a file that is itself a diff (a meson subproject's packagefiles/*.patch): its context line of a
# blank line is one space, and its lines are what `patch` must find, as upstream has them
_DIFF_FILES = (".patch", ".diff")
# TCG plugins are built against glib and the plugin API alone: checkpatch's qemu_strto* is not
# theirs to call, and every plugin on master parses numbers with g_ascii_strtoull/g_ascii_strtoll
_PLUGINS = re.compile(r"^(?:contrib/plugins|tests/tcg/plugins)/")
_QEMU_STRTO = re.compile(r"consider using qemu_(strto\w+) in preference to strto\w+")
_GLIB_STRTO = {"strtol": "g_ascii_strtoll", "strtoll": "g_ascii_strtoll", "strtoul": "g_ascii_strtoull",
               "strtoull": "g_ascii_strtoull"}  # fmt: skip
_USE_INSTEAD = re.compile(r"^use (\w+)\(\) instead of \w+\(\)")
# the name a rule bans: `X is not allowed`, `use Y instead of [unsafe ]X()`, `in preference to X`
_BANNED = re.compile(
    r"^checkpatch: (\w+) is not allowed|instead of (?:unsafe |gcc specific )?(\w+)|in preference to (\w+)"
)
_NOT_BANNED_NAMES = frozenset({"assert", "sysconf"})  # `assert(0)`, `sysconf(_SC_PAGESIZE)`: a form
_NEW_FILE_SPDX = re.compile(r"New file '([^']+)' requires 'SPDX-License-Identifier'")
# its boilerplate rule exempts "a file copied from existing code already having such text": a new
# file whose code the same patch takes out of another file (pc-bios/s390-ccw/virtio-ccw.c split out
# of virtio.c with its copyright and licence, sample W) is such a file
_BOILERPLATE = re.compile(r"New file '([^']+)' must not have license boilerplate")
# a sentence of the message that says a file keeps the licence text of what it copies ("The MIT
# license of fdt_generic.c preserved as in original file from <another repository>"): the case
# checkpatch's rule itself exempts, claimed by the author for that file
_LICENCE_WORD = re.compile(r"\blicen[cs]e\b|\bcopyright\b", re.IGNORECASE)
_KEPT = re.compile(
    r"\b(?:preserv\w*|retain\w*|kept|keep(?:s|ing)?|verbatim)\b|\bas in (?:the )?original\b", re.IGNORECASE
)
_MOVED_SHARE = 0.5  # of the new file's code lines, found among the lines the patch removes
_MOVED_LINES = 10
# its licence rule reads every line that names SPDX-License-Identifier, the commit message's too (a
# maintainer's "[name: Add SPDX-License-Identifier: ... tag]" note yields the licence "tag]"), and
# names no file either way: a licence no added line of the diff declares was read off the message
# (the licence is what stands between the quotes before ", valid choices": a line of a script
# that prints one, `out('// SPDX-License-Identifier: GPL-2.0-or-later',`, yields "...-later',")
_LICENCE = re.compile(r"^Saw unacceptable licenses '(.*)', valid choices")
_SPDX_ADDED = re.compile(r"^\+.*SPDX-License-Identifier:(.*)$", re.MULTILINE)
_SPDX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*")
_DEFINED = ("added", "stub-added", "moved")  # FunctionChange kinds of a function definition the series adds


def parse_stub_map(spec: str) -> dict[str, str]:
    """`header=stubs,header2=stubs2` (Settings["stubs"]) into a dict; malformed pairs are ignored."""
    pairs = (p.split("=", 1) for p in spec.split(",") if "=" in p)
    return {h.strip(): s.strip() for h, s in pairs if h.strip() and s.strip()}


def _changes(rev: Revision) -> list[tuple[Patch, FunctionChange]]:
    """Every C-level change of the revision, with the patch that makes it (from the diff summaries)."""
    return [(p, c) for p in rev.patches for c in p.summary.functions]


def _storage(signature: str | None) -> set[str]:
    """The words "static" and "inline" found before the parameter list of a FunctionChange signature."""
    return set((signature or "").split("(", 1)[0].split()) & {"static", "inline"}


# ---- stubs -----------------------------------------------------------------------------------


def _grep_has(repo: GitRepo | None, base: str | None, name: str, path: str) -> bool:
    if repo is None or base is None:
        return False
    done = repo.git("grep", "-q", "-w", "-e", name, base, "--", path, check=False)
    return done.ok


def check_stubs(
    rev: Revision, stub_map: dict[str, str], repo: GitRepo | None, base: str | None
) -> list[Finding]:
    """A prototype added to a mapped header, defined in code, needs a stub in the mapped stubs file."""
    changes = _changes(rev)
    defs = [c for _, c in changes if c.kind in _DEFINED and c.file.endswith(".c")]
    found: list[Finding] = []
    for header, stubs in stub_map.items():
        defined = {c.name for c in defs if c.file != stubs}
        stubbed = {c.name for c in defs if c.file == stubs}
        for patch, c in changes:
            if c.file != header or c.kind != "prototype-added" or _storage(c.new_signature):
                continue
            in_code = c.name in defined or _grep_has(repo, base, c.name, ":!" + stubs)
            if not in_code or c.name in stubbed or _grep_has(repo, base, c.name, stubs):
                continue
            if repo is not None and base is not None and _called_only_with(repo, base, rev, c.name, stubs):
                continue  # every caller is built only with the accelerator: nothing links without it
            found.append(
                _f(
                    "error",
                    "missing-stub",
                    f"{c.name}() is declared in {header} but {stubs} gets no stub "
                    "(builds without the accelerator will fail to link)",
                    patch,
                    file=header,
                    line=c.line,
                )
            )
    return found


def _called_only_with(repo: GitRepo, base: str, rev: Revision, name: str, stubs: str) -> bool:
    """Whether `name` is called, and only from files built with the stubbed accelerator alone or
    inside its `#ifdef`."""
    accel = accelonly.accelerator_of(stubs)
    found, guarded = accelonly.callers(repo, base, rev, name, accel)
    if not found:
        return guarded  # every call is compiled only with the accelerator (`#ifdef CONFIG_KVM`)
    return all(accelonly.built_only_with(repo, base, path, accel) for path in found)


# ---- checkpatch ------------------------------------------------------------------------------


def patch_mail(patch: Patch) -> str:
    """The patch as a format-patch mail, for checkpatch.pl."""
    return (
        f"From: {patch.author}\nSubject: [PATCH {patch.index}/{patch.total}] {patch.title}\n\n"
        f"{patch.message.rstrip()}\n---\n{patch.diff.rstrip()}\n-- \n"
    )


_FOLDED = 6  # lines of a message that goes on below its first line (files it names) kept


def _continued(msg: str, lines: list[str], i: int) -> str:
    """A message whose first line ends in a colon goes on below it (QEMU's "added, moved or deleted
    file(s):", its files, then "Does MAINTAINERS need updating?"): the lines up to the next message,
    location or total, on one line (the first few, then how many more)."""
    if not msg.endswith(":"):
        return msg
    more: list[str] = []
    for line in lines[i + 1 :]:
        text = line.strip()
        if _CHECKPATCH_MSG.match(text) or _CHECKPATCH_WHERE.match(text) or text.startswith("total:"):
            break
        if text:
            more.append(text)
    if not more:
        return msg
    shown = more[:_FOLDED] + ([f"and {len(more) - _FOLDED} more lines"] if len(more) > _FOLDED else [])
    return f"{msg} {'; '.join(shown)}"


def parse_checkpatch(output: str, patch: Patch) -> list[Finding]:
    """QEMU/Linux checkpatch output: `ERROR: msg` then `#N: FILE: path:line:` into findings."""
    found: list[Finding] = []
    lines = output.splitlines()
    quoted = tuple(lines)
    for i, line in enumerate(lines):
        m = _CHECKPATCH_MSG.match(line.strip())
        if not m:
            continue
        text = _continued(m.group("msg").strip(), lines, i)
        where = _CHECKPATCH_WHERE.match(lines[i + 1].strip()) if i + 1 < len(lines) else None
        # QEMU takes checkpatch's WARNING/CHECK as advice (line length, "does MAINTAINERS need
        # updating?"): on real series most were not problems a maintainer asked to fix
        sev = "error" if m.group("sev") == "ERROR" else "info"
        quote = Quote(
            m.group("msg"),
            where.group("file") if where else None,
            int(where.group("line")) if where else None,
            quoted,
            i + 2,
            patch,
        )
        if misread(quote):
            sev = "info"
        found.append(
            _f(
                sev,
                "checkpatch",
                f"checkpatch: {text}",
                patch,
                file=where.group("file") if where else None,
                line=int(where.group("line")) if where else None,
            )
        )
    return found


def run_checkpatch(
    rev: Revision,
    repo: GitRepo,
    base: str,
    tree: Path | None,
    timeout: float = 600.0,
    jobs: int | None = None,
) -> tuple[bool, list[Finding]]:
    """Run the base tree's scripts/checkpatch.pl on each patch; (ran, findings).

    The patches are checked ``jobs`` at a time (default: the usable CPUs; proc.run_all), their
    findings weighed in the series' order. checkpatch's time grows faster than a patch's length:
    on a real 5,400-line patch (a generated table) it ran for five minutes. A patch it has not
    finished within ``timeout`` seconds is named as not checked, with the way to check it."""
    script = repo.git("show", f"{base}:scripts/checkpatch.pl", check=False)
    if not script.ok:
        return False, []
    if shutil.which("perl") is None:
        return False, [_f("info", "checkpatch", "scripts/checkpatch.pl not run: perl is not installed", None)]
    found: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="patchtool-checkpatch-") as tmp:
        path = Path(tmp) / "checkpatch.pl"
        path.write_bytes(script.stdout)
        cwd = tree or repo.path
        # checkpatch refuses to run outside a checked-out tree (a bare or no-checkout clone)
        flags = [] if (cwd / "MAINTAINERS").is_file() else ["--no-tree"]
        # a mode change or a pure rename: checkpatch misreads it as a new file
        patches = [p for p in rev.patches if any(f.hunks for f in p.summary.files)]
        commands = []
        for patch in patches:
            mail = Path(tmp) / f"{patch.index:04d}.patch"
            mail.write_text(patch_mail(patch), encoding="utf-8")
            commands.append(["perl", str(path), *flags, str(mail)])
        styles: Counts = {}  # the base files' own checkpatch errors, read once per series
        runs = proc.run_all(commands, cwd=cwd, timeout=timeout, jobs=jobs)
        for patch, done in zip(patches, runs, strict=True):
            if done.timed_out:
                lines = patch.diff.count("\n")
                why = (
                    "checkpatch: not checked: scripts/checkpatch.pl was still running after"
                    f" {timeout:g} s on this patch ({lines} diff lines);"
                    " raise patchtool.checkpatch.timeout or run it by hand"
                )
                found.append(_f("info", "checkpatch", why, patch))
                continue
            weighed = _weigh(parse_checkpatch(done.text(), patch), patch)
            weighed = weigh_by_file_style(weighed, repo, base, path, Path(tmp) / "base", styles)
            found += collapse_checkpatch([_plugin_advice(f) for f in weighed])
    return True, _banned_uses_reduced(rev, _base_script_notes(rev, found))


# a commit that says it takes code from Linux as it stands there ("scripts: Import Python kerneldoc
# from Linux kernel", "Sync QEMU kernel-doc with the latest upstream version from linux-next": a
# real series whose tabs, quoted newline and SPDX-less `__init__.py` master's earlier import of the
# same files carries); not "port" or "fix", which write QEMU's own code
_FROM_LINUX = re.compile(
    r"\b(?:import(?:s|ed|ing)?|sync(?:s|ed|ing|hroni[sz](?:e|es|ed|ing))?|cop(?:y|ies|ied|ying))\b"
    r"[^.\n]{0,80}?(?<!\bto and )(?<!\bto/)\bfrom[ \t]+(?:the[ \t]+)?(?:(?:latest|upstream|mainline)[ \t]+)*"
    r"(?:linux(?:-next)?|kernel)(?![\w-])",  # not QEMU's linux-user, nor a line's end, nor both ways
    re.IGNORECASE,
)
# files QEMU takes from Linux by its own script, with rules of their own
_HEADER_SYNC = ("linux-headers/", "include/standard-headers/")


def _imported(f: Finding, patch: Patch) -> bool:
    """Whether the finding is on a file a patch says it imports from Linux: the code keeps
    upstream's style and licence lines, as QEMU merges it. A subject that says so ("scripts:
    Import Python kerneldoc from Linux kernel") covers the patch's files; the body alone covers
    the files the patch adds (its words may be a reason given, "the fix is copied from Linux", in a
    patch that changes hundreds of QEMU's files: master's flexible-array conversion). A licence
    checkpatch refuses (it names no file) is the files' whose added lines declare it."""
    spdx = _NEW_FILE_SPDX.search(f.message) or _BOILERPLATE.search(f.message)
    licence = _LICENCE.search(f.message.split(": ", 1)[-1])
    if spdx:
        paths = {spdx[1]}
    elif licence:
        tokens = licence[1].split(",")
        paths = {
            d.path
            for d in split_files(patch.diff)
            for x in d.added
            if (m := _SPDX_ADDED.match("+" + x.text)) and all(t in m[1].split() for t in tokens)
        }
    else:
        paths = {f.file} if f.file else set()
    return bool(paths) and all(_imported_path(path, patch) for path in paths)


def _imported_path(path: str, patch: Patch) -> bool:
    if path.startswith(_HEADER_SYNC):
        return False
    if _FROM_LINUX.match(patch.title.rsplit(": ", 1)[-1]):
        return path in {c.path for c in patch.summary.files}
    added = {c.path for c in patch.summary.files if c.status == "added"}
    return path in added and bool(_FROM_LINUX.search(patch.message))


def _weigh(found: list[Finding], patch: Patch) -> list[Finding]:
    """Demote what checkpatch says about a file it misjudges: a new JSON file cannot hold an SPDX
    comment, a file the patch does not add is no new file, and a symbolic link holds a path, not
    code (checkpatch calls the path of each link a line without a final newline, and asks it for
    an SPDX line), a guest test program cannot take the host's helpers, a helper's own definition
    is built on what checkpatch says to replace with it, a licence named in the commit message
    is not a file's, a file that is a diff keeps the blanks the diff has (a real series adding
    serde's meson packagefiles: 4 trailing-whitespace errors, each a blank context line), and a new
    file the message says keeps the licence text of the file it copies is the rule's exception."""
    added = {f.path for f in patch.summary.files if f.status == "added"}
    # the diff's lines, read once, only when a boilerplate error asks where a new file came from
    files = split_files(patch.diff) if any(_BOILERPLATE.search(f.message) for f in found) else []
    links = {f.path for f in patch.summary.files if _SYMLINK in (f.new_mode, f.old_mode)}
    defined = {(c.file, c.name) for c in patch.summary.functions}
    out = []
    for f in found:
        # "use qemu_real_host_page_size() instead of getpagesize()" on the line of that helper's
        # own definition, which the patch changes: the helper is built on what it replaces
        helper = _USE_INSTEAD.match(f.message.split(": ", 1)[-1])
        own = bool(helper and f.file and (f.file, helper.group(1)) in defined)
        spdx = _NEW_FILE_SPDX.search(f.message)
        guest = bool(
            f.file and _GUEST_TESTS.match(f.file) and _HOST_ADVICE.search(f.message.split(": ", 1)[-1])
        )
        licence = _LICENCE.search(f.message.split(": ", 1)[-1])
        in_message = licence is not None and not any(
            all(token in declared.split() for token in licence.group(1).split(","))
            for declared in _SPDX_ADDED.findall(patch.diff)
        )
        # a "licence" no SPDX identifier looks like ('*/"'): the end of a generated comment line
        # in a script (`print "/* SPDX-License-Identifier: GPL-2.0-or-later */"`), misread
        misread = licence is not None and not all(
            _SPDX_ID.fullmatch(token.strip()) for token in licence.group(1).split(",")
        )
        boilerplate = _BOILERPLATE.search(f.message)
        if f.file and f.file.endswith(_DIFF_FILES) and f.message.endswith("trailing whitespace"):
            why = "(in a file that is a diff: kept as it applies)"
            f = replace(f, severity="info", message=f"{f.message} {why}")
        elif boilerplate and _kept_licence(patch.message, boilerplate[1]):
            why = "(the message says it keeps the licence text of the file it copies: the rule's exception)"
            f = replace(f, severity="info", message=f"{f.message} {why}")
        elif (
            (spdx and (spdx[1] not in added or spdx[1] in links or spdx[1].endswith(_NO_SPDX)))
            or (boilerplate and _split_out(files, boilerplate[1]))
            or own
            or f.file in links
            or guest
            or in_message
            or misread
        ):
            f = replace(f, severity="info")
        elif f.severity != "info" and _imported(f, patch):
            f = replace(f, severity="info", message=f"{f.message} (imported from Linux as written there)")
        out.append(f)
    return out


def _plugin_advice(f: Finding) -> Finding:
    """checkpatch's qemu_strto* advice on a TCG plugin, told as what a plugin can call (_PLUGINS)."""
    strto = _QEMU_STRTO.search(f.message) if f.file and _PLUGINS.match(f.file) else None
    if strto is None or strto[1] not in _GLIB_STRTO:
        return f
    fn = strto[1]
    advice = f"use {_GLIB_STRTO[fn]} in preference to {fn} (a plugin cannot call qemu_{fn})"
    return replace(f, message=f.message[: strto.start()] + advice + f.message[strto.end() :])


def _kept_licence(message: str, path: str) -> bool:
    """Whether a sentence of the message names the file, its licence and that it is kept as the
    original's (one real series, copying files from another repository; master's own messages
    that speak of keeping a licence give the new file an SPDX line instead)."""
    name = re.compile(rf"(?<![\w/.-]){re.escape(path.rsplit('/', 1)[-1])}(?![\w-])")
    sentences = re.split(r"\.\s|\n\s*\n", message)
    return any(_LICENCE_WORD.search(x) and _KEPT.search(x) and name.search(x) for x in sentences)


def _split_out(files: list[FileDiff], path: str) -> bool:
    """Whether most of the new file's code lines (not blank, not comment) are lines the patch
    (its ``files``) removes from other files: code moved out of an existing file, not written anew."""
    removed = {x.text.strip() for f in files if f.path != path for x in f.removed}
    code = [
        t for f in files if f.path == path for x in f.added
        if (t := x.text.strip()) and not t.startswith(("/*", "*", "//", "#include"))
    ]  # fmt: skip
    moved = sum(t in removed for t in code)
    return moved >= _MOVED_LINES and moved >= _MOVED_SHARE * len(code)


def _base_script_notes(rev: Revision, found: list[Finding]) -> list[Finding]:
    """A series that changes checkpatch.pl itself is judged by its new rules: the base's are notes."""
    changes_script = any(f.path == "scripts/checkpatch.pl" for p in rev.patches for f in p.summary.files)
    return [replace(f, severity="info") for f in found] if changes_script else found


def _banned_uses_reduced(rev: Revision, found: list[Finding]) -> list[Finding]:
    """An error on a use of what a rule bans (`DEVICE_NATIVE_ENDIAN is not allowed`, `use X instead
    of getpagesize()`) is a note when the series removes at least as many lines using it as it adds:
    it moves or rewrites uses the tree has, as a series that restricts the name does (merged so,
    twice on real series, each removing 10 such lines and adding 3 or 4)."""
    counts: dict[str, tuple[int, int]] = {}
    out = []
    for f in found:
        banned = _BANNED.search(f.message) if f.severity == "error" else None
        name = next((g for g in banned.groups() if g), "") if banned else ""
        if name and name not in _NOT_BANNED_NAMES:
            if name not in counts:
                word = re.compile(rf"\b{re.escape(name)}\b")
                diff = "\n".join(p.diff for p in rev.patches).splitlines()
                lines = [x for x in diff if not x.startswith(("+++", "---"))]
                counts[name] = (
                    sum(x.startswith("+") and bool(word.search(x)) for x in lines),
                    sum(x.startswith("-") and bool(word.search(x)) for x in lines),
                )
            added, removed = counts[name]
            if 0 < added <= removed:  # a use the diff does not show is not judged
                why = f"the series removes {removed} lines using {name} and adds {added}"
                f = replace(f, severity="info", message=f"{f.message}; {why}: it moves existing uses")
        out.append(f)
    return out


def collapse_checkpatch(found: list[Finding]) -> list[Finding]:
    """One finding per identical checkpatch message of a patch, with a count and the lines it names."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in found:
        groups.setdefault((f.severity, f.message), []).append(f)
    out = []
    for (_, message), same in groups.items():
        if len(same) == 1:
            out.append(same[0])
            continue
        where = [f"{f.file}:{f.line}" for f in same if f.file and f.line]
        shown = ", ".join(where[:8]) + (f" and {len(where) - 8} more" if len(where) > 8 else "")
        suffix = f" ({len(same)} times" + (f": {shown})" if shown else ")")
        out.append(replace(same[0], message=message + suffix))
    return out


def _f(severity: str, code: str, message: str, patch: Patch | None, **kw: object) -> Finding:
    label = f"{patch.index}/{patch.total}" if patch else None
    return Finding(severity, code, message, label, msgid=patch.msgid if patch else None, **kw)  # type: ignore[arg-type]
