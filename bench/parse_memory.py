"""Benchmark: peak memory of parsing a large mbox, against the mbox's size (target: within 2x).

Generates (or reuses, with --mbox) a thread of the given size: a cover letter, --patches patches
with large diffs (one in ten with 8-bit UTF-8 and no Content-Type), and many replies quoting them,
as real review threads look; half the bytes are patches, half replies. Then, in a fresh
interpreter, reads the file as `patchtool` does (fetch.local) and builds the Series; prints the
interpreter's baseline, the peak resident size, and both ratios.

Usage: python bench/parse_memory.py [--mb 200] [--patches 40] [--mbox PATH]
"""

from __future__ import annotations

import sys

# bench/ holds a bisect.py, which would shadow the standard library's when run as a script.
sys.path[:] = [p for p in sys.path if not p.endswith("bench")]

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

AUTHOR = "Pat Author <pat@example.org>"
MEASURE = r"""
import json, resource, sys
from patchtool.fetch.local import read_local
from patchtool.parse.series import build_series
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
series = build_series(read_local(sys.argv[1], None))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"base": base, "peak": peak, "patches": len(series.revision.patches),
                  "replies": len(series.revision.replies)}))
"""


def _envelope(msgid: str, subject: str, sender: str, parent: str | None) -> str:
    head = f"From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: {sender}\nSubject: {subject}\n"
    head += f"Message-Id: <{msgid}>\nDate: Tue, 3 Feb 2026 10:00:00 +0000\n"
    if parent:
        head += f"In-Reply-To: <{parent}>\nReferences: <c@bench>\n"
    return head + "\n"


def _diff(index: int, lines: int) -> str:
    # One patch in ten carries 8-bit UTF-8 without a Content-Type (4 of 40 real series did).
    note = "\u2713 r\u00e9glage \u2026" if index % 10 == 0 else "level setting..."
    body = "".join(f"+    lamp_{index}_{n} = {n}; /* {note} */\n" for n in range(lines))
    return (
        f"diff --git a/hw/lamp{index}.c b/hw/lamp{index}.c\nnew file mode 100644\n"
        f"index 0000000..1111111\n--- /dev/null\n+++ b/hw/lamp{index}.c\n@@ -0,0 +1,{lines} @@\n{body}"
    )


def write_mbox(path: Path, megabytes: int, patches: int = 40) -> None:
    target = megabytes * 1024 * 1024
    per_patch = target // 2 // patches
    lines = per_patch // 48
    with path.open("w", encoding="utf-8") as out:
        out.write(_envelope("c@bench", f"[PATCH 0/{patches}] lamp: bench", AUTHOR, None) + "Cover.\n\n")
        for i in range(1, patches + 1):
            body = f"lamp: part {i}\n\nSigned-off-by: {AUTHOR}\n---\n{_diff(i, lines)}-- \n2.47.0\n\n"
            subject = f"[PATCH {i}/{patches}] lamp: part {i}"
            out.write(_envelope(f"p{i}@bench", subject, AUTHOR, "c@bench") + body)
        quote = "".join(f"> +    lamp_quoted_{n} = {n};\n" for n in range(150))
        n = 0
        while out.tell() < target:
            n += 1
            who = f"Reviewer {n % 97} <r{n % 97}@example.org>"
            parent = f"p{n % patches + 1}@bench"
            body = f"{quote}\nLooks right.\n\nReviewed-by: {who}\n\n"
            subject = f"Re: [PATCH {n % patches + 1}/{patches}] lamp"
            out.write(_envelope(f"r{n}@bench", subject, who, parent) + body)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--patches", type=int, default=40)
    parser.add_argument("--mbox", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parse-memory-") as tmp:
        mbox = args.mbox or Path(tmp) / "big.mbox"
        if not mbox.exists():
            write_mbox(mbox, args.mb, args.patches)
        size = mbox.stat().st_size
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, str(mbox)], capture_output=True, text=True, check=True
        )
    got = json.loads(done.stdout)
    mb = 1024 * 1024
    print(
        f"mbox {size / mb:.0f} MiB ({got['patches']} patches, {got['replies']} replies): "
        f"baseline {got['base'] / mb:.0f} MiB, peak {got['peak'] / mb:.0f} MiB = "
        f"{got['peak'] / size:.2f}x the mbox ({(got['peak'] - got['base']) / size:.2f}x above the baseline)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
