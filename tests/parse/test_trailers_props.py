"""Property: random display names, wrappings, key cases and orders round-trip through the trailer
reader, in a commit message and in a reply, and every person a trailer names is found."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from patchtool.models import Address
from patchtool.parse.trailers import commit_trailers, reply_trailers, sender_matches, trailer_people

KEYS = ("Reviewed-by", "Acked-by", "Tested-by", "Reported-by", "Suggested-by")
_WORD = st.from_regex(r"[A-Z][a-z]{0,8}(-[A-Z][a-z]{1,6})?\.?", fullmatch=True)
_DECOR = st.sampled_from(["", ",", " [corporate]", " (team)", " Jr."])


@st.composite
def display_names(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.tuples(_WORD, _DECOR), min_size=1, max_size=4))
    text = " ".join(w + d for w, d in words).strip(" ,")
    return text.lstrip("(") or "Name"


@st.composite
def people(draw: st.DrawFn) -> Address:
    local = draw(st.from_regex(r"[a-z][a-z0-9.]{0,10}[a-z0-9]", fullmatch=True))
    domain = draw(st.sampled_from(["example.org", "x.example.com", "lists.example.net"]))
    return Address(draw(display_names()), f"{local}@{domain}")


@st.composite
def trailers(draw: st.DrawFn) -> tuple[str, Address, str]:
    """(canonical key, person, the lines as written: any key case, maybe wrapped before the address)."""
    key = draw(st.sampled_from(KEYS))
    person = draw(people())
    written_key = draw(st.sampled_from([key, key.lower(), key.upper()]))
    value = f"{person.name} <{person.email}>"
    spaces = [i for i, c in enumerate(value) if c == " "]
    if spaces and draw(st.booleans()):
        cut = draw(st.sampled_from(spaces))
        indent = " " * draw(st.integers(1, 4))
        value = f"{value[:cut]}\n{indent}{value[cut + 1 :]}"
    return key, person, f"{written_key}: {value}"


@settings(max_examples=150, deadline=None)
@given(st.lists(trailers(), min_size=1, max_size=6))
def test_commit_trailers_round_trip(items: list[tuple[str, Address, str]]) -> None:
    message = "Title words.\n\nSome prose here.\n\n" + "\n".join(t for _, _, t in items) + "\n"
    found = commit_trailers(message)
    assert [(t.key, trailer_people(t)) for t in found] == [(k, [p]) for k, p, _ in items]


@settings(max_examples=150, deadline=None)
@given(st.lists(trailers(), min_size=1, max_size=6), st.integers(0, 5))
def test_reply_trailers_round_trip_and_name_their_people(
    items: list[tuple[str, Address, str]], split: int
) -> None:
    lines = [t for _, _, t in items]
    body = "> quoted patch line\n\nThanks!\n\n" + "\n".join(lines[:split]) + "\n\n" + "\n".join(lines[split:])
    sender = items[0][1]
    found = reply_trailers(body, sender, "m@x")
    assert [(t.key, trailer_people(t)) for t in found] == [(k, [p]) for k, p, _ in items]
    for trailer, (_, person, _) in zip(found, items, strict=True):
        assert sender_matches(trailer, sender) == (person.email == sender.email)
