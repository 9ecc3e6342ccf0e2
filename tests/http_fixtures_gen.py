"""Write fixtures/http/routes.json: patchew, patchwork and lore answers for our three test threads.

The answers follow the shapes in shared/api-shapes.md (written by us from our own mail in
fixtures/http/threads/ and fixtures/mail/reaper-v2.mbox). URLs inside the answers name the real
services; tests/plugins/httpreplay.py rewrites them to its loopback address when it serves them.

Regenerate with: python -m tests.http_fixtures_gen (tests/fetch/test_sources_fixtures.py checks it)
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
HTTP = ROOT / "fixtures" / "http"
PATCHEW = "https://patchew.org"
PATCHWORK = "https://patchwork.ozlabs.org"
LORE = "https://lore.kernel.org"
BASE_SHA = "2fc3c6a3ac6c0f1d1c1e7c19d3b0c4ed9a1b0f1e"
MIRROR = "https://github.com/patchew-project/qemu"
PW_PAGE = 5  # this instance's REST_RESULTS_PER_PAGE, small so that series lists take several pages


def q(msgid: str) -> str:
    return quote(msgid, safe="@+=$!,;:~")


def thread_file(name: str) -> Path:
    """The series helper's mail where it exists (the same mail the local tests parse), else ours."""
    shared = ROOT / "fixtures" / "mail" / f"{name}.mbox"
    return shared if shared.exists() else HTTP / "threads" / f"{name}.mbox"


def split_mboxrd(text: str) -> list[str]:
    parts = re.split(r"^From \S+ .*\d{4}\n", text, flags=re.MULTILINE)
    return [
        re.sub(r"^>(>*From )", r"\1", p, flags=re.MULTILINE).strip("\n") + "\n" for p in parts if p.strip()
    ]


def mboxrd(messages: list[str]) -> str:
    out = []
    for m in messages:
        out.append("From mboxrd@z Thu Jan  1 00:00:00 1970\n" + re.sub(r"^(>*From )", r">\1", m, flags=re.M))
        out.append("\n")
    return "".join(out)


class Mail:
    def __init__(self, text: str) -> None:
        self.text = text
        msg = email.message_from_string(text, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.msg = msg
        self.raw_headers = text.split("\n\n", 1)[0]
        self.body = str(msg.get_content())  # decoded (patchwork stores text, not QP or base64)
        self.msgid = str(msg["Message-Id"]).strip().strip("<>")
        irt = msg["In-Reply-To"]
        self.in_reply_to = str(irt).strip().strip("<>") if irt else None
        self.subject = " ".join(str(msg["Subject"]).split())
        date = parsedate_to_datetime(str(msg["Date"])).astimezone(dt.UTC)
        self.date = date.replace(tzinfo=None).isoformat()
        self.sender = people(str(msg["From"]))[0]
        self.recipients = people(str(msg.get("To", ""))) + people(str(msg.get("Cc", "")))

    @property
    def is_reply(self) -> bool:
        return self.subject.lower().startswith("re:")

    def prefixes(self) -> list[str]:
        m = re.match(r"\[([^\]]*)\]", self.subject)
        return [t for t in re.split(r"[\s,]+", m.group(1)) if t and t.upper() != "PATCH"] if m else []

    def patch_num(self) -> int | None:
        for token in self.prefixes():
            if "/" in token:
                return int(token.split("/")[0])
        return None

    def stripped(self) -> str:
        return re.sub(r"^(re:\s*)?\[[^\]]*\]\s*", "", self.subject, flags=re.I)

    def headers_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for line in re.split(r"\n(?![ \t])", self.raw_headers):
            key, value = line.split(":", 1)
            value = value.strip(" ")
            if key in out:
                out[key] = [*out[key], value] if isinstance(out[key], list) else [out[key], value]
            else:
                out[key] = value
        return out


def people(value: str) -> list[dict[str, str]]:
    """Patchew's address objects: `name` omitted when absent or equal to the address."""
    pairs = getaddresses([value]) if value and value != "None" else []
    return [({"name": n, "address": a} if n and n != a else {"address": a}) for n, a in pairs if a]


def route(service: str, path: str, *, status: int = 200, **kw: Any) -> dict[str, Any]:
    return {"service": service, "path": path, "status": status, **kw}


# ---- patchew ------------------------------------------------------------------------------------


def pw_msg_uri(msgid: str) -> str:
    return f"{PATCHEW}/api/v1/projects/1/messages/{q(msgid)}/"


def patchew_base(mail: Mail, tags: list[str]) -> dict[str, Any]:
    return {
        "resource_uri": pw_msg_uri(mail.msgid),
        "message_id": mail.msgid,
        "subject": mail.subject,
        "date": mail.date,
        "sender": mail.sender,
        "recipients": mail.recipients,
        "tags": tags,
    }


def trailers(mail: Mail) -> list[str]:
    return [
        line
        for line in mail.body.splitlines()
        if re.match(r"^(Reviewed|Acked|Tested|Reported|Suggested)-by: ", line)
    ]


def patchew_routes(mails: list[Mail], *, complete: bool, git: bool) -> list[dict[str, Any]]:
    head = mails[0]
    reply_tags = [t for m in mails if m.is_reply for t in trailers(m)]
    if head.patch_num() is None and not head.is_reply:  # a lone patch is its own head
        patches = [head]
    else:
        patches = [m for m in mails if not m.is_reply and (m.patch_num() or 0) > 0]
        patches = [m for m in patches if m.in_reply_to == head.msgid]
    replies = [m for m in mails if m.is_reply and m.in_reply_to == head.msgid]
    total = int(next((t.split("/")[1] for t in head.prefixes() if "/" in t), "1"))
    series_uri = f"{PATCHEW}/api/v1/projects/1/series/{q(head.msgid)}/"
    detail = patchew_base(head, reply_tags) | {
        "resource_uri": series_uri,
        "message": pw_msg_uri(head.msgid),
        "stripped_subject": head.stripped(),
        "num_patches": len(patches),
        "total_patches": total,
        "results": series_uri + "results/",
        "mbox_uri": series_uri + "mbox/",
        "last_comment_date": replies[-1].date if replies else None,
        "last_reply_date": mails[-1].date,
        "is_complete": complete,
        "is_merged": False,
        "is_obsolete": False,
        "is_tested": git,
        "is_reviewed": bool(reply_tags),
        "maintainers": [],
        "patches": [
            patchew_base(p, reply_tags)
            | {
                "stripped_subject": p.stripped(),
                "last_comment_date": replies[-1].date if replies else None,
                "patch_num": p.patch_num(),
            }
            for p in patches
        ],
        "replies": [patchew_base(r, []) | {"in_reply_to": r.in_reply_to} for r in replies],
        "version": next((int(t[1:]) for t in head.prefixes() if re.fullmatch(r"v\d+", t)), 1),
        "other_versions": [],
        "based_on": None,
        "obsoleted_by": None,
        "reviewers": [],
    }
    path = f"/api/v1/projects/1/series/{q(head.msgid)}/"
    routes = [route("patchew", path, json=detail)]
    results: list[dict[str, Any]] = []
    if git:
        tag = f"refs/tags/patchew/{head.msgid}"
        results = [
            {
                "resource_uri": series_uri + "results/git/",
                "name": "git",
                "status": "success",
                "last_update": "2026-11-21T05:20:11.055289",
                "data": {"base": BASE_SHA, "repo": MIRROR, "tag": tag, "url": f"{MIRROR}/tree/{tag[10:]}"},
                "log_url": f"{PATCHEW}/QEMU/{q(head.msgid)}/logs/git/",
            },
            {
                "resource_uri": series_uri + "results/testing.checkpatch/",
                "name": "testing.checkpatch",
                "status": "success",
                "last_update": "2026-11-21T05:20:19.878399",
                "data": {"head": tag, "is_timeout": False, "tester": "patchew-tester1"},
                "log_url": f"{PATCHEW}/QEMU/{q(head.msgid)}/logs/testing.checkpatch/",
            },
        ]
    routes.append(
        route("patchew", path + "results/", json={"next": None, "previous": None, "results": results})
    )
    if complete:
        mbox = "".join(f"From nobody Sat Nov 21 05:21:08 2026\n{p.text}\n" for p in patches)
        routes.append(
            route("patchew", path + "mbox/", text=mbox, headers={"Content-Type": "text/plain; charset=utf-8"})
        )
    else:  # what patchew's code does for an incomplete series (api-shapes 1.8)
        routes.append(
            route(
                "patchew",
                path + "mbox/",
                status=500,
                text="<h1>Server Error (500)</h1>",
                headers={"Content-Type": "text/html"},
            )
        )
    for m in mails:
        routes.append(
            route(
                "patchew",
                f"/api/v1/projects/1/messages/{q(m.msgid)}/mbox/",
                text=m.text,
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
        )
    return routes


# ---- patchwork ----------------------------------------------------------------------------------


def split_diff(body: str) -> tuple[str, str]:
    m = re.search(r"^diff --git ", body, flags=re.M)
    return (body, "") if m is None else (body[: m.start()], body[m.start() :])


def pw_person(pid: int, mail: Mail, ver: str) -> dict[str, Any]:
    return {
        "id": pid,
        "url": f"{PATCHWORK}/api/{ver}/people/{pid}/",
        "name": mail.sender.get("name", ""),
        "email": mail.sender["address"],
    }


def pw_name(mail: Mail) -> str:
    pre = mail.prefixes()
    return (f"[{','.join(pre)}] " if pre else "") + mail.stripped()


class PatchworkThread:
    def __init__(
        self,
        mails: list[Mail],
        series_id: int,
        first_patch: int,
        cover_id: int | None,
        comment_id: int,
        person: int,
    ) -> None:
        self.mails = mails
        self.series_id = series_id
        self.cover = mails[0] if cover_id is not None else None
        self.cover_id = cover_id
        patches = [m for m in mails if not m.is_reply and (m.patch_num() or 1) > 0 and m is not self.cover]
        # a patch sent twice lands in another patchwork series: keep the first copy of each number
        first: dict[int, Mail] = {}
        for m in patches:
            first.setdefault(m.patch_num() or 1, m)
        self.patches = [first[n] for n in sorted(first)]
        self.by_id = {m.msgid: m for m in mails}
        self.ids = {m.msgid: first_patch + i for i, m in enumerate(self.patches)}
        self.comments = [m for m in mails if m.is_reply]
        self.comment_ids = {m.msgid: comment_id + i for i, m in enumerate(self.comments)}
        self.person = person

    def owner(self, reply: Mail) -> str | None:
        """The patch or cover a comment belongs to: the nearest one up its In-Reply-To chain."""
        wanted = {m.msgid for m in self.patches} | ({self.cover.msgid} if self.cover else set())
        seen: set[str] = set()
        current: str | None = reply.in_reply_to
        while current and current not in wanted and current not in seen:
            seen.add(current)
            parent = self.by_id.get(current)
            current = parent.in_reply_to if parent else None
        return current if current in wanted else None

    def series_ref(self, ver: str) -> dict[str, Any]:
        head = self.cover or self.patches[0]
        name = head.stripped() if self.cover else pw_name(head)
        return {
            "id": self.series_id,
            "url": f"{PATCHWORK}/api/{ver}/series/{self.series_id}/",
            "web_url": f"{PATCHWORK}/project/qemu-devel/list/?series={self.series_id}",
            "date": head.date,
            "name": name,
            "version": 4 if self.cover else 2,
            "mbox": f"{PATCHWORK}/series/{self.series_id}/mbox/",
        }

    def patch_summary(self, m: Mail, ver: str) -> dict[str, Any]:
        pid = self.ids[m.msgid]
        return {
            "id": pid,
            "url": f"{PATCHWORK}/api/{ver}/patches/{pid}/",
            "web_url": f"{PATCHWORK}/project/qemu-devel/patch/{q(m.msgid)}/",
            "project": {"id": 14, "url": f"{PATCHWORK}/api/{ver}/projects/14/", "link_name": "qemu-devel"},
            "msgid": f"<{m.msgid}>",
            "list_archive_url": f"{LORE}/qemu-devel/{q(m.msgid)}/",
            "date": m.date,
            "name": pw_name(m),
            "commit_ref": None,
            "pull_url": None,
            "state": "new",
            "archived": False,
            "hash": None,
            "submitter": pw_person(self.person, m, ver),
            "delegate": None,
            "mbox": f"{PATCHWORK}/project/qemu-devel/patch/{q(m.msgid)}/mbox/",
            "series": [self.series_ref(ver)],
            "comments": f"{PATCHWORK}/api/patches/{pid}/comments/",
            "check": "pending",
            "checks": f"{PATCHWORK}/api/patches/{pid}/checks/",
            "tags": {},
            "related": [],
        }

    def patch_detail(self, m: Mail, ver: str) -> dict[str, Any]:
        content, diff = split_diff(m.body)
        return self.patch_summary(m, ver) | {
            "headers": m.headers_dict(),
            "content": content,
            "diff": diff,
            "prefixes": m.prefixes(),
        }

    def comment(self, m: Mail, ver: str, parent: str) -> dict[str, Any]:
        cid = self.comment_ids[m.msgid]
        out = {
            "id": cid,
            "web_url": f"{PATCHWORK}/comment/{cid}/",
            "msgid": f"<{m.msgid}>",
            "list_archive_url": f"{LORE}/qemu-devel/{q(m.msgid)}/",
            "date": m.date,
            "subject": m.subject,
            "submitter": pw_person(self.person + 10, m, ver),
            "content": m.body,
            "headers": m.headers_dict(),
        }
        if ver == "1.3":
            out = {"id": cid, "url": f"{parent}comments/{cid}/"} | out | {"addressed": None}
        return out

    def cover_detail(self, ver: str) -> dict[str, Any]:
        assert self.cover is not None and self.cover_id is not None
        c = self.cover
        return {
            "id": self.cover_id,
            "url": f"{PATCHWORK}/api/{ver}/covers/{self.cover_id}/",
            "web_url": f"{PATCHWORK}/project/qemu-devel/cover/{q(c.msgid)}/",
            "msgid": f"<{c.msgid}>",
            "list_archive_url": f"{LORE}/qemu-devel/{q(c.msgid)}/",
            "date": c.date,
            "name": pw_name(c),
            "submitter": pw_person(self.person, c, ver),
            "mbox": f"{PATCHWORK}/project/qemu-devel/cover/{q(c.msgid)}/mbox/",
            "series": [self.series_ref(ver)],
            "comments": f"{PATCHWORK}/api/covers/{self.cover_id}/comments/",
            "headers": c.headers_dict(),
            "content": c.body,
        }

    def patch_mbox(self, m: Mail) -> str:
        tags = [t for r in self.comments if self.owner(r) == m.msgid for t in trailers(r)]
        head, body = m.text.split("\n\n", 1)
        if tags:
            body = body.replace("\n---\n", "\n" + "\n".join(tags) + "\n---\n", 1)
        pid = self.ids[m.msgid]
        submitter = f"{m.sender.get('name', '')} <{m.sender['address']}>"
        extra = f"X-Patchwork-Submitter: {submitter}\nX-Patchwork-Id: {pid}\n"
        return f"From patchwork Thu Jan  1 00:00:00 1970\n{extra}{head}\n\n{body}"

    def routes(self, checks: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for ver in ("1.3", "1.2"):
            out += self._api_routes(ver)
        for m in self.patches:
            pid = self.ids[m.msgid]
            replies = [c for c in self.comments if self.owner(c) == m.msgid]
            parent = f"{PATCHWORK}/api/patches/{pid}/"
            out.append(
                route(
                    "patchwork",
                    f"/api/patches/{pid}/comments/",
                    json=[self.comment(c, "1.3", parent) for c in replies],
                    headers=link_headers(f"/api/patches/{pid}/comments/", 1, 1, ""),
                )
            )
            out.append(route("patchwork", f"/api/patches/{pid}/checks/", json=checks.get(pid, [])))
            web = f"/project/qemu-devel/patch/{q(m.msgid)}/mbox/"
            out.append(
                route(
                    "patchwork",
                    f"/patch/{pid}/mbox/",
                    status=302,
                    headers={"Location": web, "Content-Type": "text/html; charset=utf-8"},
                    text="",
                )
            )
            slug = re.sub(r"[^A-Za-z0-9]+", "-", pw_name(m)).strip("-")
            out.append(
                route(
                    "patchwork",
                    web,
                    text=self.patch_mbox(m),
                    headers={
                        "Content-Type": "text/plain; charset=utf-8",
                        "Content-Disposition": f"attachment; filename={slug}.patch",
                    },
                )
            )
        if self.cover is not None:
            parent = f"{PATCHWORK}/api/covers/{self.cover_id}/"
            replies = [c for c in self.comments if self.owner(c) == self.cover.msgid]
            out.append(
                route(
                    "patchwork",
                    f"/api/covers/{self.cover_id}/comments/",
                    json=[self.comment(c, "1.3", parent) for c in replies],
                )
            )
        series_mbox = "".join(self.patch_mbox(m) + "\n" for m in self.patches)
        out.append(
            route(
                "patchwork",
                f"/series/{self.series_id}/mbox/",
                text=series_mbox,
                headers={
                    "Content-Type": "text/plain",
                    "Content-Disposition": "attachment; filename=series.patch",
                },
            )
        )
        return out

    def _api_routes(self, ver: str) -> list[dict[str, Any]]:
        api = f"/api/{ver}"
        out = [
            route("patchwork", f"{api}/patches/{self.ids[m.msgid]}/", json=self.patch_detail(m, ver))
            for m in self.patches
        ]
        for m in self.patches:
            out.append(
                route(
                    "patchwork",
                    f"{api}/patches/",
                    query={"project": "qemu-devel", "msgid": m.msgid},
                    json=[self.patch_summary(m, ver)],
                )
            )
        series = self.series_ref(ver) | {
            "project": {"id": 14, "url": f"{PATCHWORK}/api/{ver}/projects/14/", "link_name": "qemu-devel"},
            "submitter": pw_person(self.person, self.mails[0], ver),
            "total": len(self.patches),
            "received_total": len(self.patches),
            "received_all": True,
            "cover_letter": None,
            "patches": [
                {
                    k: v
                    for k, v in self.patch_summary(m, ver).items()
                    if k in ("id", "url", "web_url", "msgid", "list_archive_url", "date", "name", "mbox")
                }
                for m in self.patches
            ],
        }
        if self.cover is not None:
            cover = self.cover_detail(ver)
            series["cover_letter"] = {
                k: cover[k]
                for k in ("id", "url", "web_url", "msgid", "list_archive_url", "date", "name", "mbox")
            }
            out.append(route("patchwork", f"{api}/covers/{self.cover_id}/", json=cover))
            out.append(
                route(
                    "patchwork",
                    f"{api}/covers/",
                    query={"project": "qemu-devel", "msgid": self.cover.msgid},
                    json=[{k: v for k, v in cover.items() if k not in ("headers", "content")}],
                )
            )
        out.append(route("patchwork", f"{api}/series/{self.series_id}/", json=series))
        summaries = [self.patch_summary(m, ver) for m in self.patches]
        pages = [summaries[i : i + PW_PAGE] for i in range(0, len(summaries), PW_PAGE)] or [[]]
        for n, page in enumerate(pages, 1):
            query = {"series": str(self.series_id)} | (
                {"page": str(n), "per_page": str(PW_PAGE)} if n > 1 else {}
            )
            out.append(
                route(
                    "patchwork",
                    f"{api}/patches/",
                    query=query,
                    json=page,
                    headers=link_headers(f"{api}/patches/", n, len(pages), f"series={self.series_id}"),
                )
            )
        return out


def link_headers(path: str, page: int, last: int, query: str) -> dict[str, str]:
    def url(n: int) -> str:
        extra = f"&{query}" if query else ""
        return f"<{PATCHWORK}{path}?page={n}&per_page={PW_PAGE}{extra}>"

    links = []
    if page < last:
        links.append(f'{url(page + 1)}; rel="next"')
    if page > 1:
        links.append(f'{url(page - 1)}; rel="prev"')
    links += [f'{url(1)}; rel="first"', f'{url(last)}; rel="last"']
    return {"Link": ", ".join(links)}


def pw_check(pid: int, cid: int, context: str, state: str) -> dict[str, Any]:
    return {
        "id": cid,
        "url": f"{PATCHWORK}/api/1.3/patches/{pid}/checks/{cid}/",
        "user": {
            "id": 2,
            "url": f"{PATCHWORK}/api/1.3/users/2/",
            "username": "qemu-ci",
            "first_name": "",
            "last_name": "",
            "email": "ci@example.org",
        },
        "date": "2026-11-21T16:18:56.099226",
        "state": state,
        "target_url": "https://gitlab.com/qemu-project/qemu/-/pipelines/1",
        "context": context,
        "description": "",
    }


# ---- lore ---------------------------------------------------------------------------------------


def lore_routes(name: str, mails: list[Mail], bodies: dict[str, str]) -> list[dict[str, Any]]:
    bodies[f"lore:{name}"] = mboxrd([m.text for m in mails])
    out = []
    for m in mails:
        for inbox in ("qemu-devel", "all"):
            out.append(
                route(
                    "lore",
                    f"/{inbox}/{q(m.msgid)}/t.mbox.gz",
                    body_ref=f"lore:{name}",
                    gzip=True,
                    headers={"Content-Type": "application/gzip"},
                )
            )
        out.append(
            route(
                "lore",
                f"/qemu-devel/{q(m.msgid)}/raw",
                text=mboxrd([m.text]),
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
        )
    return out


def index_routes() -> list[dict[str, Any]]:
    out = []
    for ver in ("1.3", "1.2"):
        names = ("projects", "users", "people", "patches", "covers", "series", "events", "bundles")
        out.append(route("patchwork", f"/api/{ver}/", json={n: f"{PATCHWORK}/api/{ver}/{n}/" for n in names}))
    out.append(
        route(
            "patchew",
            "/api/v1/",
            json={n: f"{PATCHEW}/api/v1/{n}/" for n in ("users", "projects", "series", "messages")},
        )
    )
    return out


def build() -> dict[str, Any]:
    threads = {
        name: [Mail(t) for t in split_mboxrd(thread_file(name).read_text())]
        for name in ("reaper-v2", "kvm-dirty-ring-v4", "b4-reply")
    }
    routes = index_routes()
    routes += patchew_routes(threads["reaper-v2"], complete=True, git=True)
    routes += patchew_routes(threads["kvm-dirty-ring-v4"], complete=False, git=False)
    routes += patchew_routes(threads["b4-reply"], complete=True, git=True)
    checks = {
        13: [pw_check(13, 1, "checkpatch", "success"), pw_check(13, 2, "build-mingw", "fail")],
        15: [pw_check(15, 3, "checkpatch", "success")],
    }
    routes += PatchworkThread(threads["kvm-dirty-ring-v4"], 1, 1, 1, 10, 1).routes(checks)
    routes += PatchworkThread(threads["reaper-v2"], 3, 15, None, 2, 4).routes(checks)
    routes += PatchworkThread(threads["b4-reply"], 4, 16, None, 3, 6).routes(checks)
    bodies: dict[str, str] = {}
    for name, thread in threads.items():
        routes += lore_routes(name, thread, bodies)
    heads = {name: [m.msgid for m in mails] for name, mails in threads.items()}
    return {"threads": heads, "bodies": bodies, "routes": routes}


def render() -> str:
    return json.dumps(build(), indent=1, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    (HTTP / "routes.json").write_text(render())
