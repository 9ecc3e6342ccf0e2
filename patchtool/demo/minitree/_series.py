"""Write the series as mail: commit each series on a throwaway ref, `git format-patch` it, add replies.

The throwaway refs are deleted and the repository repacked, so the finished repository holds only
the history (and refs/minitree/expected-backport).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from patchtool.demo.minitree import _people as people
from patchtool.demo.minitree._filler import with_trailers
from patchtool.demo.minitree._history import Chronicle, to_sysemu
from patchtool.demo.minitree._importer import git_bytes, run_git
from patchtool.demo.minitree._mail import (
    Message,
    add_notes,
    address_list,
    mail_date,
    msgid_for,
    reply,
    split_format_patch,
    thread,
)
from patchtool.demo.minitree._series_catalog import catalog
from patchtool.demo.minitree._series_spec import SeriesSpec, first_msgid, sent_time
from patchtool.demo.minitree._tree import map_paths

EXPECTED_BACKPORT_REF = "refs/minitree/expected-backport"
GIT_VERSION_SIGNATURE = "2.47.3"


def _resolve(c: Chronicle, base: str) -> int:
    return c.names[base] if base in c.names else c.tags[base]


def _commit_series(c: Chronicle, spec: SeriesSpec) -> list[int]:
    """Commit the patches of `spec` on refs/minitree-series/NAME; return their marks."""
    parent = _resolve(c, spec.base)
    when = sent_time(c, spec) - 86400
    marks = []
    for n, make in enumerate(spec.patches, 1):
        plan = make(c.imp.commits[parent].tree)
        message = with_trailers(plan.subject, plan.body, [f"Signed-off-by: {plan.author.ident}"])
        parent = c.imp.commit(
            f"refs/minitree-series/{spec.name}",
            plan.author,
            plan.author,
            when + n * 600,
            message,
            plan.changes,
            parent=parent,
        )
        marks.append(parent)
    c.names[f"series:{spec.name}"] = parent
    return marks


def _format_patch(c: Chronicle, spec: SeriesSpec, marks: list[int]) -> list[Message]:
    base_sha = c.imp.sha(_resolve(c, spec.base))
    args = ["format-patch", "--stdout", "--no-thread", "--abbrev=10", f"--signature={GIT_VERSION_SIGNATURE}"]
    if spec.version > 1:
        args.append(f"-v{spec.version}")
    if spec.cover:
        args.append("--cover-letter")
    if len(marks) > 1 or spec.cover:
        args.append("--numbered")
    if spec.base_footer:
        args.append(f"--base={base_sha}")
    args.append(f"{base_sha}..{c.imp.sha(marks[-1])}")
    # The cover letter takes its sender and date from the committer: make both fixed.
    env = {
        "GIT_COMMITTER_NAME": spec.author.name,
        "GIT_COMMITTER_EMAIL": spec.author.email,
        "GIT_COMMITTER_DATE": f"{sent_time(c, spec)} +0000",
    }
    return split_format_patch(git_bytes(c.imp.repo, *args, extra_env=env))


def _address(messages: list[Message], c: Chronicle, spec: SeriesSpec) -> list[list[str]]:
    """Set dates, recipients and threading; return each message's thread ancestry plus its own id."""
    sent = sent_time(c, spec)
    ids = [msgid_for(sent, spec.pid, n, spec.author) for n in range(1, len(messages) + 1)]
    chains: list[list[str]] = []
    for n, msg in enumerate(messages):
        msg.set("From", spec.author.ident)
        msg.set("Date", mail_date(sent + n, spec.author))
        number = n if spec.cover else n + 1
        parents: list[str] = [] if n == 0 else [ids[0]]
        if n and spec.deep_from is not None and number >= spec.deep_from:
            anchor = spec.deep_from - 1 if spec.cover else spec.deep_from - 2
            parents = [ids[0], ids[anchor]] if anchor else [ids[0]]
        thread(msg, ids[n], parents)
        msg.set("X-Mailer", f"git-send-email {GIT_VERSION_SIGNATURE}")
        msg.set("To", people.LIST)
        if spec.cc:
            msg.set("Cc", address_list(list(spec.cc)))  # type: ignore[arg-type]
        _order_headers(msg)
        chains.append([*parents, ids[n]])
    return chains


def _order_headers(msg: Message) -> None:
    order = ["From", "Date", "Subject", "Message-Id", "In-Reply-To", "References", "X-Mailer", "To", "Cc"]
    rank = {name.lower(): i for i, name in enumerate(order)}
    msg.headers.sort(key=lambda kv: rank.get(kv[0].lower(), len(order)))


def _fill_cover(msg: Message, subject: str, blurb: str) -> None:
    msg.set("Subject", msg.get("Subject").replace("*** SUBJECT HERE ***", subject))
    msg.body = msg.body.replace("*** BLURB HERE ***", blurb.rstrip("\n"))


def _b4_footer(msg: Message, spec: SeriesSpec, sent: int) -> None:
    day = datetime.fromtimestamp(sent - 30 * 86400, UTC).strftime("%Y%m%d")
    slug = "-".join(msg.subject.split("] ", 1)[-1].split(":")[0].replace("/", "-").split())
    change_id = f"change-id: {day}-{slug}-{spec.pid * 7919 % 0xFFFFFFFFFFFF:012x}"
    body = msg.body.replace(f"-- \n{GIT_VERSION_SIGNATURE}\n", "")
    msg.body = body.rstrip("\n") + f"\n{change_id}\n\nBest regards,\n-- \n{spec.author.ident}\n"
    msg.set("X-Mailer", "b4 0.14.2")


def render_series(c: Chronicle, spec: SeriesSpec, marks: list[int]) -> str:
    messages = _format_patch(c, spec, marks)
    if spec.cover:
        _fill_cover(messages[0], *spec.cover)
    if spec.notes:
        add_notes(messages[-1] if not spec.cover else messages[0], spec.notes)
    chains = _address(messages, c, spec)
    if spec.base_footer:
        _b4_footer(messages[-1], spec, sent_time(c, spec))
    out = [m.render() for m in messages]
    sent = sent_time(c, spec)
    for k, r in enumerate(spec.replies, start=1):
        when = sent + r.hours * 3600
        local, _, domain = r.sender.email.partition("@")
        rid = f"<{when:x}.{spec.pid + k}.{local}@{domain}>"
        out.append(reply(messages[r.to], chains[r.to], r.sender, when, rid, r.text, r.quote_lines).render())
    return "".join(out)


def write_series(c: Chronicle, series_dir: Path) -> tuple[dict[str, Path], str]:
    """Write every series of the catalog; return {name: mbox path} and the expected-backport commit."""
    specs = catalog(c)
    committed = {spec.name: _commit_series(c, spec) for spec in specs}
    expected = _expected_backport(c, next(s for s in specs if s.name == "stable-backport"))
    c.imp.finish()
    series_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for spec in specs:
        path = series_dir / f"{spec.name}.mbox"
        path.write_text(render_series(c, spec, committed[spec.name]), encoding="utf-8")
        paths[spec.name] = path
    for spec in specs:
        run_git(c.imp.repo, "update-ref", "-d", f"refs/minitree-series/{spec.name}")
    run_git(c.imp.repo, "repack", "-a", "-d", "-q")
    run_git(c.imp.repo, "prune", "--expire=now")
    return paths, c.imp.sha(expected)


def _expected_backport(c: Chronicle, spec: SeriesSpec) -> int:
    """stable-9.2 plus the stable-backport series with include/system/ mapped to include/sysemu/."""
    parent = c.names["stable_branch_tip"]
    mark = parent
    for make in spec.patches:
        plan = make(c.imp.commits[_resolve(c, spec.base)].tree)
        trailers = [f"Signed-off-by: {plan.author.ident}", f"Message-Id: {first_msgid(c, spec)}"]
        message = with_trailers(plan.subject, plan.body, [*trailers, f"Signed-off-by: {people.MAREN.ident}"])
        mark = c.imp.commit(
            EXPECTED_BACKPORT_REF,
            plan.author,
            people.MAREN,
            sent_time(c, spec) + 86400,
            message,
            map_paths(plan.changes, to_sysemu),
            parent=mark,
        )
    return mark
