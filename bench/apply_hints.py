"""Real-data check of `patchtool apply`'s hints on old series: already in the base, written where.

Usage: python bench/apply_hints.py SERIES_DIR QEMU_GIT [--onto REV]

SERIES_DIR holds <msgid>.mbox and <msgid>.meta ("base <sha>", "tip <sha>") files, as
bench/apply_fidelity.py reads them. Each series is applied onto --onto (default: QEMU_GIT's HEAD,
which is newer than every series): the status and hints are recorded, then checked:

- "written on X": applying with `--base X` must give every patch applied, and X's tree must hold
  the series' files as the true base (meta) does;
- "already in": each commit named must be in --onto (its title is printed beside it);
- "merged and reverted": the reverting commit must be in --onto and say "This reverts commit"
  of the commit named.

Patches said already-applied are counted: git's own 3-way merge left the tree unchanged there;
so are those of them a hint names (by title, or by their change under another title), and the
hints on series that applied (their titles in --onto, or merged and reverted).

QEMU_GIT is cloned once (shared) into a scratch directory; the original is never written.
"""

from __future__ import annotations

import sys

# bench/ holds a bisect.py, which would shadow the standard library's when run as a script.
sys.path[:] = [p for p in sys.path if not p.endswith("bench")]

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

_WRITTEN = re.compile(r"--base ([0-9a-f]{12}) applies it where it was written")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True).stdout.decode()


def apply(clone: Path, mbox: Path, base: str | None) -> dict:
    cmd = [sys.executable, "-m", "patchtool", "apply", str(mbox), "--repo", str(clone), "--json"]
    done = subprocess.run([*cmd, *(["--base", base] if base else [])], capture_output=True, check=False)
    try:
        return json.loads(done.stdout or b"{}") | {"rc": done.returncode}
    except json.JSONDecodeError:
        return {"rc": done.returncode, "status": "no json", "error": done.stderr.decode()[-300:]}


def touched(mbox: Path) -> list[str]:
    names = re.findall(rb"^diff --git a/(\S+) b/(\S+)$", mbox.read_bytes(), re.MULTILINE)
    return sorted({n.decode() for pair in names for n in pair})


def blobs(repo: Path, rev: str, paths: list[str]) -> dict[str, str]:
    out = git(repo, "ls-tree", "-r", rev, "--", *paths)
    return {line.split("\t")[1]: line.split()[2] for line in out.splitlines()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("series", type=Path)
    ap.add_argument("qemu", type=Path)
    ap.add_argument("--onto", default="HEAD")
    args = ap.parse_args()
    totals: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "q"
        clone_cmd = ["git", "clone", "-q", "--shared", "--no-checkout", str(args.qemu), str(clone)]
        subprocess.run(clone_cmd, check=True)
        onto = git(clone, "rev-parse", args.onto).strip()
        for mbox in sorted(args.series.glob("*.mbox")):
            text = mbox.read_bytes()
            if b"diff --git a/shazam.log" in text and not re.search(rb"^diff --git a/(?!shazam)", text, re.M):
                continue  # a CI bot's artifact
            meta = dict(line.split(" ", 1) for line in mbox.with_suffix(".meta").read_text().splitlines())
            result = apply(clone, mbox, onto)
            status = result.get("status", "?")
            totals[f"status {status}"] += 1
            notes = []
            for hint in result.get("hints", []):
                if (m := _WRITTEN.search(hint)) is not None:
                    again = apply(clone, mbox, m.group(1))
                    ok = again.get("status") == "applied"
                    paths = touched(mbox)
                    same = {k: v for k, v in blobs(clone, m.group(1), paths).items()} == blobs(
                        clone, meta["base"], paths
                    )
                    totals[f"written-on applies {ok}"] += 1
                    totals[f"written-on files as the true base {same}"] += 1
                    notes.append(f"written {m.group(1)} applies={ok} same-files={same}")
            for hint in result.get("hints", []):
                kind = hint.split(":")[0].replace(result.get("base_label", onto), "X")
                kind = re.sub(r"\b[0-9a-f]{12}\b", "SHA", re.sub(r"\d+ blob", "N blob", kind))
                totals[f"hint {kind[:70]}"] += 1
            for x in result.get("landed", []):  # every patch the hints speak of, not only the three named
                index, sha = x["index"], x["commit"]
                totals[f"landed {x['kind']}"] += 1
                totals["named by their change under another title"] += bool(x["retitled"])
                if sha:
                    title = git(clone, "log", "-1", "--format=%s", sha).strip()
                    inside = subprocess.run(
                        ["git", "-C", str(clone), "merge-base", "--is-ancestor", sha, onto], check=False
                    ).returncode == 0
                    totals[f"landed in onto {inside}"] += 1
                    notes.append(f"{index} {x['kind']} as {sha[:12]} {inside} {title[:40]!r}")
                if x["reverted_by"]:
                    said = git(clone, "log", "-1", "--format=%B", x["reverted_by"])
                    ok = bool(sha) and f"This reverts commit {sha}" in said
                    totals[f"reverted: the revert names the commit {ok}"] += 1
                    notes.append(f"{index} reverted {sha[:12]} by {x['reverted_by'][:12]} {ok}")
            named = {x["index"] for x in result.get("landed", []) if x["kind"] == "in-base"}
            for p in result.get("patches", []):
                totals[f"patch {p['status']}"] += 1
                if p["status"] == "already-applied":
                    totals[f"already-applied named {p['index'] in named}"] += 1
                    if p["index"] not in named:
                        notes.append(f"{p['index']} already-applied, not named")
            print(f"{mbox.stem[:60]:60} {status:22} rc={result['rc']} " + "; ".join(notes))
    print("total")
    for key in sorted(totals):
        print(f"  {key:44} {totals[key]}")


if __name__ == "__main__":
    main()
