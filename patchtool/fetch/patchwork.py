"""Patchwork (any instance; REST API 1.2 and 1.3): patch, series, cover, comments, checks, mbox.

Messages are rebuilt from each object's `headers` and `content` (and `diff`), because the mbox
endpoints append reviewers' trailers to the commit message; the rebuilt mail gives the same Series
as the list's copy. The mbox endpoints (which answer with a 302 first) serve objects without headers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from requests.utils import parse_header_links

from patchtool.errors import FetchError
from patchtool.fetch.fetched import Fetched, json_of, mbox_messages, quote_msgid
from patchtool.fetch.http import Http
from patchtool.models import RawMessage

SOURCE = "patchwork"
API_VERSIONS = ("1.3", "1.2")


def get_all(http: Http, url: str) -> list[Any]:
    """A list endpoint followed through every `Link: rel="next"` page."""
    items: list[Any] = []
    seen: set[str] = set()
    next_url: str | None = url
    while next_url and next_url not in seen:
        seen.add(next_url)
        answer = http.get(next_url, source=SOURCE, accept="application/json")
        page = json_of(answer)
        if not isinstance(page, list):
            raise FetchError(answer.url, "expected a JSON list")
        items.extend(page)
        links = parse_header_links(answer.headers.get("Link", answer.headers.get("link", "")))
        next_url = next((link["url"] for link in links if link.get("rel") == "next"), None)
    return items


def _get(http: Http, url: str) -> dict[str, Any]:
    return dict(json_of(http.get(url, source=SOURCE, accept="application/json")))


def api_root(http: Http, base: str) -> str:
    """The newest API version the instance serves (1.3, else 1.2)."""
    base = base.rstrip("/")
    for version in API_VERSIONS:
        try:
            http.get(f"{base}/api/{version}/", source=SOURCE, accept="application/json")
        except FetchError as e:
            if e.status == 404:
                continue
            raise
        return f"{base}/api/{version}"
    raise FetchError(f"{base}/api/", f"no patchwork API {' or '.join(API_VERSIONS)} here", status=404)


def find_series_id(http: Http, api: str, project: str, msgid: str) -> int | None:
    """The series of a patch or cover letter, by Message-ID (sent without <>)."""
    for kind in ("patches", "covers"):
        query = urlencode({"project": project, "msgid": msgid})
        found = get_all(http, f"{api}/{kind}/?{query}")
        if found:
            series = found[0].get("series") or []
            if series:
                return int(series[0]["id"])
    raise FetchError(f"{api}/patches/?msgid={quote_msgid(msgid)}", "no patch or cover with this message-id")


def rebuild_mail(obj: dict[str, Any]) -> bytes:
    """The original mail from an API object: its headers, then `content` and `diff` (decoded text)."""
    lines: list[str] = []
    for key, value in (obj.get("headers") or {}).items():
        if key.lower() in ("content-transfer-encoding", "content-type"):
            continue  # the text is decoded already; we declare it below
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key}: {item}")
    lines += ['Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: 8bit"]
    content = str(obj.get("content") or "")
    diff = str(obj.get("diff") or "")
    if diff and content and not content.endswith("\n"):
        content += "\n"
    return ("\n".join(lines) + "\n\n" + content + diff).encode("utf-8")


def _object_messages(http: Http, summary: dict[str, Any]) -> list[RawMessage]:
    """A patch or cover letter and its comments, as mail."""
    detail = _get(http, str(summary["url"]))
    if detail.get("headers"):
        messages = [RawMessage(rebuild_mail(detail), f"patchwork:{summary['url']}")]
    else:  # no headers in this API answer: take the mbox (the 302 is followed)
        answer = http.get(str(detail["mbox"]), source=SOURCE)
        messages = list(mbox_messages(answer.body, f"patchwork:{answer.url}"))
    if detail.get("comments"):
        for comment in get_all(http, str(detail["comments"])):
            messages.append(RawMessage(rebuild_mail(comment), f"patchwork:{comment.get('web_url', '')}"))
    return messages


def checks(http: Http, patches: list[dict[str, Any]]) -> str:
    """Each patch's checks, `name: context=state, ...` one line a patch."""
    lines = []
    for patch in patches:
        url = patch.get("checks")
        if not url:
            continue
        found = get_all(http, str(url))
        if found:
            states = ", ".join(f"{c.get('context')}={c.get('state')}" for c in found)
            lines.append(f"{patch.get('name')}: {states}")
    return "\n".join(lines)


def fetch(
    http: Http,
    base: str,
    project: str,
    *,
    msgid: str | None = None,
    patch_id: int | None = None,
    series_id: int | None = None,
) -> Fetched:
    """A whole series (cover, patches, comments, checks), found by series id, patch id or msgid."""
    api = api_root(http, base)
    if series_id is None and patch_id is not None:
        patch = _get(http, f"{api}/patches/{patch_id}/")
        series_id = int(patch["series"][0]["id"]) if patch.get("series") else None
        if series_id is None:
            alone = tuple(_object_messages(http, patch))
            return Fetched(SOURCE, str(patch["url"]), alone, 1, 1, msgid=str(patch["msgid"]).strip("<>"))
    if series_id is None:
        assert msgid is not None
        series_id = find_series_id(http, api, project, msgid)
    series = _get(http, f"{api}/series/{series_id}/")
    patches = get_all(http, f"{api}/patches/?{urlencode({'series': series_id})}")
    messages: list[RawMessage] = []
    if series.get("cover_letter"):
        messages += _object_messages(http, series["cover_letter"])
    for patch in patches:
        messages += _object_messages(http, patch)
    extras = {"patchwork.series": str(series.get("web_url") or series["url"])}
    if summary := checks(http, patches):
        extras["patchwork.checks"] = summary
    head = series.get("cover_letter") or (patches[0] if patches else {})
    return Fetched(
        SOURCE,
        str(series["url"]),
        tuple(messages),
        int(series.get("received_total") or len(patches)),
        int(series.get("total") or len(patches)),
        extras,
        msgid=str(head.get("msgid", "")).strip("<>") or msgid,
    )


def patch_mbox(http: Http, web_base: str, patch_id: int) -> bytes:
    """`/patch/<id>/mbox/` (a 302 to the msgid URL, followed): the mail with trailers appended."""
    return http.get(f"{web_base.rstrip('/')}/patch/{patch_id}/mbox/", source=SOURCE).body
