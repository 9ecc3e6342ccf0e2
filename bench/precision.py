"""Real-data precision of the review findings: how often each finding code fires, and how often it is right.

Usage:
  python bench/precision.py SERIES_DIR [--repo QEMU] [--limit N] [--save DIR] [--judgments FILE]

Mirror branches (and patches inside a series) that only add the CI bot's shazam.log are left out,
with the mirror's CI workflow when a branch carries it too: they are not review mail.
SERIES_DIR holds real series as `<msgid>.mbox`, each with a `<msgid>.meta` naming its `base` commit
(as /work/data/series/* do). For each series it runs `patchtool report MBOX --format json` (with
`--repo QEMU --base <base>` when a tree is given) in a subprocess and counts the findings per code
and severity. `--save DIR` keeps each JSON report for judging by hand.

A judgments file (tab-separated: msgid, patch label or "-", code, true|false, why; one row per
error/warning finding) says whether a QEMU maintainer would agree with it; the "why" column holds
facts, never mail text. With one, the bench prints per code how many of the judged rows whose
(msgid, patch, code) fired are true: the precision of that code on the judged sample. A sixth column,
when present, is text the finding's message holds: the row then counts only while an error or
warning with that text fires (so a patch's other findings do not keep a row that is now a note).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Judgment:
    msgid: str
    patch: str
    code: str
    verdict: bool
    why: str
    text: str = ""  # what the finding's message holds (optional sixth column)


def read_meta(path: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in path.read_text("utf-8").splitlines():
        key, _, value = line.partition(" ")
        fields[key] = value.strip()
    return fields


def run_report(mbox: Path, repo: Path | None, timeout: int) -> dict[str, object] | None:
    # The report runs from the project's root: paths given relative to here are made absolute.
    mbox, repo = mbox.resolve(), repo.resolve() if repo is not None else None
    argv = [sys.executable, "-m", "patchtool", "report", str(mbox), "--format", "json"]
    meta = mbox.with_suffix(".meta")
    if repo is not None and meta.is_file() and (base := read_meta(meta).get("base")):
        argv += ["--repo", str(repo), "--base", base]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout, cwd=ROOT, check=False)
    except subprocess.TimeoutExpired:
        print(f"timeout: {mbox.name}", file=sys.stderr)
        return None
    try:
        report: dict[str, object] = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        print(f"no report for {mbox.name} (exit {done.returncode}): {last[0]}", file=sys.stderr)
        return None
    return report


_DIFF_PATH = re.compile(r"^diff --git a/(\S+) ", re.M)


# the mirror's own commits: its CI workflow (a branch cut from a master without it carries it) and
# the log its bot adds when `b4 shazam` fails
_MIRROR_FILES = {"shazam.log", ".github/workflows/build.yml"}


def is_bot_artifact(mbox: Path) -> bool:
    """A mirror branch that only adds the CI bot's shazam.log (and the mirror's CI workflow): real
    bytes, but not a series to review."""
    paths = set(_DIFF_PATH.findall(mbox.read_text("utf-8", "replace")))
    return "shazam.log" in paths and paths <= _MIRROR_FILES


def bot_patches(report: dict[str, object]) -> set[str]:
    """Labels of patches that only add the CI bot's shazam.log (a mirror artifact inside a series)."""
    patches = report.get("patches")
    found = set()
    for p in patches if isinstance(patches, list) else []:
        files = p.get("files") if isinstance(p, dict) else None
        if isinstance(files, list) and [f.get("path") for f in files] == ["shazam.log"]:
            found.add(str(p.get("label")))
    return found


def read_judgments(path: Path) -> list[Judgment]:
    found = []
    for row in path.read_text("utf-8").splitlines():
        if not row.strip() or row.startswith("#"):
            continue
        cols = row.split("\t")
        if len(cols) < 4:
            raise SystemExit(f"error: {path}: bad judgment row {row!r}")
        why = cols[4] if len(cols) > 4 else ""
        text = cols[5] if len(cols) > 5 else ""
        found.append(Judgment(cols[0], cols[1], cols[2], cols[3].strip().lower() == "true", why, text))
    return found


def findings_of(report: dict[str, object]) -> list[dict[str, object]]:
    found = report.get("findings")
    return [f for f in found if isinstance(f, dict)] if isinstance(found, list) else []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("series_dir", type=Path)
    ap.add_argument("--repo", type=Path, help="a QEMU clone holding each series' base commit")
    ap.add_argument("--limit", type=int, default=0, help="only the first N series (sorted by name)")
    ap.add_argument("--save", type=Path, help="keep each JSON report here")
    ap.add_argument("--load", type=Path, help="read saved JSON reports from here instead of running")
    ap.add_argument("--judgments", type=Path, help="tab-separated judgments (see the module doc)")
    ap.add_argument(
        "--timeout", type=int, default=1800, help="seconds per series (checkpatch may take 600 s on a patch)"
    )
    args = ap.parse_args()
    mboxes = sorted(args.series_dir.glob("*.mbox"))[: args.limit or None]
    bots = [m for m in mboxes if is_bot_artifact(m)]
    mboxes = [m for m in mboxes if m not in bots]
    print(f"{len(bots)} bot artifacts (shazam.log and the mirror's CI workflow) left out")
    fired: Counter[tuple[str, str]] = Counter()
    keys: dict[tuple[str, str, str], list[str]] = {}  # error/warning messages per (msgid, patch, code)
    reports = 0
    for mbox in mboxes:
        msgid = mbox.name[: -len(".mbox")]
        saved = (args.load or args.save or Path("/nonexistent")) / f"{msgid}.json"
        if args.load is not None and saved.is_file():
            report = json.loads(saved.read_text("utf-8"))
        else:
            report = run_report(mbox, args.repo, args.timeout)
            if report is not None and args.save is not None:
                args.save.mkdir(parents=True, exist_ok=True)
                saved.write_text(json.dumps(report, indent=1), "utf-8")
        if report is None:
            continue
        reports += 1
        bot = bot_patches(report)
        for f in findings_of(report):
            if f.get("patch") in bot:
                continue
            fired[(str(f.get("code")), str(f.get("severity")))] += 1
            if f.get("severity") != "info":  # judgments are about error/warning findings
                key = (msgid, str(f.get("patch") or "-"), str(f.get("code")))
                keys.setdefault(key, []).append(str(f.get("message")))
    print(f"{reports} of {len(mboxes)} series reported")
    print_table(fired, keys, read_judgments(args.judgments) if args.judgments else None)
    return 0


def print_table(
    fired: Counter[tuple[str, str]],
    keys: dict[tuple[str, str, str], list[str]],
    judged: list[Judgment] | None,
) -> None:
    """Per code and severity: fired; with judgments, judged/true/precision over findings that fired.
    Each finding is judged once: a row takes the first finding of its (msgid, patch, code) that
    holds its text and no earlier row took (rows that find none left do not count)."""
    true: Counter[str] = Counter()
    total: Counter[str] = Counter()
    left = {key: list(messages) for key, messages in keys.items()}
    for j in judged or []:
        messages = left.get((j.msgid, j.patch, j.code), [])
        taken = next((i for i, m in enumerate(messages) if not j.text or j.text in m), None)
        if taken is not None:
            del messages[taken]
            total[j.code] += 1
            true[j.code] += j.verdict
    head = f"{'code':32} {'severity':9} {'fired':>6}"
    print(head + (f" {'judged':>7} {'true':>5} {'precision':>9}" if judged is not None else ""))
    for (code, sev), n in sorted(fired.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        row = f"{code:32} {sev:9} {n:6}"
        if judged is not None and total[code] and sev != "info":  # judgments cover error/warning
            row += f" {total[code]:7} {true[code]:5} {100 * true[code] / total[code]:8.0f}%"
        print(row)


if __name__ == "__main__":
    raise SystemExit(main())
