"""patchew.org: REST API v1 (series detail, results, messages, series mbox) and its git tags.

The thread is assembled from each message's raw mbox (`messages/<msgid>/mbox/`), not from the
series mbox, because the latter rewrites bodies (tags inserted, quoted-printable) and drops the
cover letter and the replies; the raw messages give the same Series as lore's copy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from patchtool.errors import FetchError, GitError, InputError, NotCachedError
from patchtool.fetch.fetched import Fetched, json_of, mbox_messages, quote_msgid
from patchtool.fetch.http import Http, safe_url
from patchtool.models import RawMessage
from patchtool.parse.mail import msgids_in, parse_mail
from patchtool.vcs.repo import GitRepo

SOURCE = "patchew"
_USERINFO = re.compile(r"//[^/@\s]+@")  # user:password@ in a URL git may echo back
LOCAL_REF_PREFIX = "refs/patchtool/patchew/"


def series_url(base: str, project: str, msgid: str) -> str:
    # by-name answers 307 to the numeric project URL; requests follows it.
    return f"{base.rstrip('/')}/api/v1/projects/by-name/{project}/series/{quote_msgid(msgid)}/"


def message_mbox_url(base: str, project: str, msgid: str) -> str:
    return f"{base.rstrip('/')}/api/v1/projects/by-name/{project}/messages/{quote_msgid(msgid)}/mbox/"


def series_detail(http: Http, base: str, project: str, msgid: str) -> dict[str, Any]:
    """The series whose head is `msgid`; for a patch's msgid, the series of the mail it replies to."""
    try:
        return dict(json_of(http.get(series_url(base, project, msgid), source=SOURCE)))
    except FetchError as e:
        if e.status != 404:
            raise
        head = _thread_root(http, base, project, msgid)
        if head is None or head == msgid:
            raise
        return dict(json_of(http.get(series_url(base, project, head), source=SOURCE)))


def _thread_root(http: Http, base: str, project: str, msgid: str) -> str | None:
    # Patchew keys series by their head only: walk up from the message itself.
    answer = http.get(message_mbox_url(base, project, msgid), source=SOURCE)
    messages = mbox_messages(answer.body, answer.url)
    if not messages:
        return None
    mail = parse_mail(messages[0])
    refs = list(mail.references) or msgids_in(mail.in_reply_to)
    return refs[0] if refs else None


def _message(http: Http, resource_uri: str) -> RawMessage:
    answer = http.get(resource_uri.rstrip("/") + "/mbox/", source=SOURCE)
    found = mbox_messages(answer.body, f"patchew:{answer.url}")
    if not found:
        raise FetchError(answer.url, "answer holds no mail")
    return RawMessage(data=found[0].data, origin=f"patchew:{answer.url}")


def _message_uris(detail: dict[str, Any]) -> list[str]:
    uris = [str(detail["message"])]
    for item in [*detail.get("patches", []), *detail.get("replies", [])]:
        if isinstance(item, dict) and item.get("resource_uri"):
            uris.append(str(item["resource_uri"]))
    return list(dict.fromkeys(uris))


def results(http: Http, detail: dict[str, Any]) -> dict[str, str]:
    """The series' results as extras: the git result's base/repo/tag and each test's status."""
    extras: dict[str, str] = {}
    url: str | None = detail.get("results")
    tests: list[str] = []
    while url:
        page = json_of(http.get(url, source=SOURCE))
        for result in page.get("results", []):
            name, status = str(result.get("name")), str(result.get("status"))
            if name == "git":
                data = result.get("data") or {}
                extras["patchew.git"] = status
                for key in ("base", "repo", "tag"):
                    if data.get(key):
                        extras[f"patchew.{key}"] = str(data[key])
            else:
                tests.append(f"{name.removeprefix('testing.')}={status}")
        url = page.get("next")
    if tests:
        extras["patchew.tests"] = ", ".join(tests)
    return extras


def _series_extras(detail: dict[str, Any]) -> dict[str, str]:
    extras = {"patchew.version": str(detail.get("version", 1))}
    others = [str(v.get("version")) for v in detail.get("other_versions") or [] if isinstance(v, dict)]
    if others:
        extras["patchew.other_versions"] = ", ".join(others)
    based_on = detail.get("based_on")
    if isinstance(based_on, dict) and based_on.get("tag"):
        extras["patchew.based_on"] = str(based_on["tag"])
    return extras


def fetch(http: Http, base: str, project: str, msgid: str) -> Fetched:
    """The series through patchew's REST API: its raw messages, completeness and results."""
    detail = series_detail(http, base, project, msgid)
    messages = tuple(_message(http, uri) for uri in _message_uris(detail))
    extras = _series_extras(detail) | results(http, detail)
    total = int(detail.get("total_patches") or 1)
    found = total if detail.get("is_complete") else int(detail.get("num_patches") or 0)
    location = str(detail.get("resource_uri") or series_url(base, project, msgid))
    return Fetched(SOURCE, location, messages, found, total, extras, str(detail.get("message_id")))


def series_mbox(http: Http, detail: dict[str, Any]) -> bytes | None:
    """Patchew's own series mbox (tags inserted); None when it has none (incomplete series: 404/500)."""
    try:
        return http.get(str(detail["mbox_uri"]), source=SOURCE).body
    except FetchError as e:
        if e.status is None:
            raise
        return None


def fetch_tag(repo_path: Path, git_url: str, msgid: str, base: str | None, patches: int) -> dict[str, str]:
    """Fetch `tags/patchew/<msgid>` into the repository's object store, and name base and commits.

    Only one ref is written, `refs/patchtool/patchew/<msgid>`, so the objects stay reachable (gc
    keeps them) while HEAD, branches, tags, the index, the work tree and FETCH_HEAD stay untouched.
    """
    repo = GitRepo(repo_path)
    local = LOCAL_REF_PREFIX + msgid
    if not repo.git("check-ref-format", local, check=False).ok:
        raise InputError(f"patchew/{msgid}: not a valid tag name for git")
    refspec = f"+refs/tags/patchew/{msgid}:{local}"
    done = repo.git(
        *("-c", "gc.auto=0", "-c", "maintenance.auto=false", "fetch", "--no-write-fetch-head"),
        *("--no-tags", "--no-recurse-submodules", "--quiet", "--", git_url, refspec),
        check=False,
        timeout=600,
    )
    if not done.ok:
        lines = done.errtext().strip().splitlines()
        reason = _USERINFO.sub("//", lines[-1]) if lines else "failed"
        raise GitError(f"git fetch {safe_url(git_url)} tags/patchew/{msgid}: {reason}")
    return describe_tag(repo, local, base, patches)


def local_tag(repo_path: Path, msgid: str, base: str | None, patches: int) -> dict[str, str]:
    """Base and commits of a tag fetched before (for --offline): nothing is fetched."""
    repo = GitRepo(repo_path)
    local = LOCAL_REF_PREFIX + msgid
    if repo.try_rev_parse(local) is None:
        raise NotCachedError(f"patchew/{msgid}", f"tag not fetched into {repo.path} yet (--offline)")
    return describe_tag(repo, local, base, patches)


def describe_tag(repo: GitRepo, local: str, base: str | None, patches: int) -> dict[str, str]:
    tip = repo.rev_parse(local)
    note = ""
    if not base or not repo.try_rev_parse(base) or not repo.is_ancestor(base, tip):
        # patchew's base is upstream master at apply time; without it, the tag has one commit a patch.
        fallback = repo.try_rev_parse(f"{tip}~{max(patches, 1)}")
        note = f" (patchew's base {base[:12]} is not an ancestor of the tag)" if base else ""
        base = fallback
    extras = {"patchew.ref": local, "patchew.head": tip}
    if base:
        log = repo.out("log", "--reverse", "--format=%H %s", f"{base}..{tip}", "--")
        extras["patchew.base"] = base + note
        extras["patchew.commits"] = log
    return extras
