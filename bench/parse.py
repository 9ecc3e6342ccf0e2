"""Benchmark: `patchtool fetch` on a 50-patch series with 100 review replies, against `b4 am`.

Usage: python bench/parse.py [--runs N] [--keep DIR]

Generates the thread (a cover letter, 50 patches each changing C code, 100 replies carrying
Reviewed-by/Acked-by/Tested-by, with quoted text), times `patchtool fetch FILE -o DIR` in a
subprocess (median of N runs), and when b4 is installed times
`b4 --offline-mode am -m FILE MSGID -o DIR` on the same file, then checks that both put the same
review trailers into the same patches.
"""

from __future__ import annotations

import os
import sys

# bench/ holds a bisect.py that would shadow the standard library's bisect (used by statistics).
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patchtool.models import RawMessage  # noqa: E402
from patchtool.parse.mail import parse_mail, split_mbox  # noqa: E402

PATCHES = 50
REPLIES = 100
SENDER = "Bench Author <author@example.org>"
COVER_ID = "20260301120000.1000-0-author@example.org"
REVIEW_KEYS = ("Reviewed-by", "Acked-by", "Tested-by", "Reported-by", "Suggested-by")


def _msgid(i: int) -> str:
    return f"20260301120000.1000-{i}-author@example.org"


def _header(frm: str, subject: str, msgid: str, minute: int, parent: str | None) -> str:
    lines = [
        "From bench@example.org Sun Mar  1 12:00:00 2026",
        f"From: {frm}",
        "To: qemu-devel@nongnu.org",
        f"Subject: {subject}",
        f"Date: Sun, 1 Mar 2026 {12 + minute // 60:02d}:{minute % 60:02d}:00 +0000",
        f"Message-Id: <{msgid}>",
    ]
    if parent:
        lines += [f"In-Reply-To: <{parent}>", f"References: <{COVER_ID}> <{parent}>"]
    lines += [
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    return "\n".join(lines) + "\n\n"


def _diff(i: int) -> str:
    old = [f"int helper_{i}_{k}(int x)\n{{\n    return x + {k};\n}}\n\n" for k in range(4)]
    new = list(old)
    new[1] = f"long helper_{i}_1(long x)\n{{\n    long y = x * 2;\n\n    return y + 1;\n}}\n\n"
    new.insert(3, f"static void helper_{i}_new(void)\n{{\n}}\n\n")
    old_lines = "".join(old).split("\n")[:-1]
    new_lines = "".join(new).split("\n")[:-1]
    body = [f" {ln}" for ln in old_lines[:5]]
    body += [f"-{ln}" for ln in old_lines[5:9]]
    body += [f"+{ln}" for ln in new_lines[5:11]]
    body += [f" {ln}" for ln in old_lines[9:15]]
    body += [f"+{ln}" for ln in new_lines[17:21]]
    body += [f" {ln}" for ln in old_lines[15:]]
    n_old = sum(1 for b in body if b[0] in " -")
    n_new = sum(1 for b in body if b[0] in " +")
    return (
        f"diff --git a/hw/dev{i:02d}.c b/hw/dev{i:02d}.c\nindex 1111111..2222222 100644\n"
        f"--- a/hw/dev{i:02d}.c\n+++ b/hw/dev{i:02d}.c\n@@ -1,{n_old} +1,{n_new} @@\n"
        + "\n".join(body)
        + "\n"
    )


def _patch(i: int) -> str:
    diff = _diff(i)
    added = sum(1 for ln in diff.split("\n") if ln.startswith("+") and not ln.startswith("+++"))
    removed = sum(1 for ln in diff.split("\n") if ln.startswith("-") and not ln.startswith("---"))
    body = (
        f"Widen helper_{i}_1 to long and add a no-op helper, step {i} of the series.\n\n"
        f"Signed-off-by: {SENDER}\n---\n"
        f" hw/dev{i:02d}.c | {added + removed} {'+' * added}{'-' * removed}\n"
        f" 1 file changed, {added} insertions(+), {removed} deletions(-)\n\n{diff}-- \n2.50.1\n\n"
    )
    return (
        _header(SENDER, f"[PATCH v3 {i:02d}/{PATCHES}] hw/dev{i:02d}: widen helper", _msgid(i), i, COVER_ID)
        + body
    )


def _reply(n: int) -> str:
    target = n % PATCHES + 1
    who = n % 7
    key = REVIEW_KEYS[n % 3]
    quoted = "".join(f"> {ln}\n" for ln in _diff(target).split("\n")[:12])
    body = (
        f"On Sun, Bench Author wrote:\n{quoted}\nThis looks right to me.\n\n"
        f"{key}: Reviewer {who} <reviewer{who}@example.org>\n\n-- \nReviewer {who}\n\n"
    )
    frm = f"Reviewer {who} <reviewer{who}@example.org>"
    subject = f"Re: [PATCH v3 {target:02d}/{PATCHES}] hw/dev{target:02d}: widen helper"
    return _header(frm, subject, f"reply-{n}@example.org", 60 + n, _msgid(target)) + body


def make_thread(path: Path) -> None:
    cover = _header(SENDER, f"[PATCH v3 00/{PATCHES}] hw: widen the helpers", COVER_ID, 0, None)
    cover += "Fifty small patches for the benchmark.\n\nBench Author (50):\n  hw: widen\n\n"
    path.write_text(
        cover + "".join(_patch(i) for i in range(1, PATCHES + 1)) + "".join(map(_reply, range(REPLIES)))
    )


def review_trailers(mbox: Path) -> dict[str, set[str]]:
    """Per patch subject title: the review trailer lines in the commit message of an output mbox."""
    found: dict[str, set[str]] = {}
    for data in split_mbox(mbox.read_bytes()):
        mail = parse_mail(RawMessage(data, str(mbox)))
        title = re.sub(r"^(\[[^\]]*\]\s*)+", "", mail.subject)
        message = mail.body.split("\n---\n", 1)[0]
        found[title] = {ln.strip() for ln in message.split("\n") if ln.startswith(REVIEW_KEYS)}
    return found


def _time(argv: list[str], runs: int, cwd: Path, env: dict[str, str], out: Path) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return statistics.median(times), times


def _fmt(times: list[float]) -> str:
    return ", ".join(f"{t:.3f}" for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None, help="keep the generated files here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="patchtool-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    thread = work / "thread.mbox"
    make_thread(thread)
    env = dict(os.environ, HOME=str(work), GIT_CONFIG_NOSYSTEM="1", NO_COLOR="1")
    size = thread.stat().st_size
    print(f"thread: {thread} ({PATCHES} patches + cover, {REPLIES} review replies, {size} bytes)")
    ours_out = work / "ours"
    ours, ours_all = _time([sys.executable, "-m", "patchtool", "fetch", str(thread), "-o", str(ours_out)],
                           args.runs, ROOT, env, ours_out)  # fmt: skip
    print(f"patchtool fetch: median {ours:.3f}s over {args.runs} runs ({_fmt(ours_all)})")
    b4 = shutil.which("b4") or (
        str(Path(sys.executable).parent / "b4") if (Path(sys.executable).parent / "b4").exists() else None
    )
    if b4 is None:
        print("b4: not installed (pip install b4) - no comparison")
        return
    b4_out = work / "b4"
    theirs, theirs_all = _time([b4, "--offline-mode", "am", "-m", str(thread), COVER_ID, "-o", str(b4_out)],
                               args.runs, work, env, b4_out)  # fmt: skip
    print(f"b4 am:           median {theirs:.3f}s over {args.runs} runs ({_fmt(theirs_all)})")
    print(f"ratio: patchtool is {theirs / ours:.1f}x faster than b4 (target: at least 5x)")
    ours_trailers = review_trailers(next(ours_out.glob("*.mbox")))
    b4_trailers = review_trailers(next(b4_out.glob("*.mbx")))
    total = sum(len(v) for v in ours_trailers.values())
    same = ours_trailers == b4_trailers
    b4_total = sum(len(v) for v in b4_trailers.values())
    print(f"trailers: patchtool {total}, b4 {b4_total}; same: {'yes' if same else 'NO'}")
    if not same:
        for title in sorted(set(ours_trailers) | set(b4_trailers)):
            if ours_trailers.get(title) != b4_trailers.get(title):
                mine, theirs_set = sorted(ours_trailers.get(title, ())), sorted(b4_trailers.get(title, ()))
                print(f"  {title}: patchtool {mine} b4 {theirs_set}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
