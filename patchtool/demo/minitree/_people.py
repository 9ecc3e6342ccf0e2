"""The fictional developers of the mini tree, and the clock that dates their commits."""

from __future__ import annotations

from patchtool.demo.minitree._importer import Person

PAULA = Person("Paula Benedetti", "pbenedetti@example.com", "+0100")
HENRIK = Person("Henrik Hult", "hhult@example.net", "+0800")
AKIRA = Person("Akira Odagiri", "akira.odagiri@example.jp", "+0900")
TOMAS = Person("Tomas Hubert", "thubert@example.com", "+0100")
RICHARD = Person("Richard Hale", "rhale@example.org", "-0700")
MARKUS = Person("Markus Arnesen", "marnesen@example.com", "+0100")
DANIEL = Person("Daniel Berg", "dberg@example.com", "+0000")
MAREN = Person("Maren Kowalski", "mkowalski@example.org", "+0300")
PIETER = Person("Pieter Xu", "pxu@example.com", "-0400")
WEN = Person("Wen Guo", "wguo@example.com", "+0800")
LENA = Person("Lena Fischer", "lfischer@example.de", "+0100")

# Henrik replies from a mail client that shows a shorter name than his trailers do.
HENRIK_MAIL = Person("Henke Hult", "hhult@example.net", "+0800")

LIST = "qemu-devel@nongnu.org"
STABLE_LIST = "qemu-stable@nongnu.org"

# Monday 3 June 2024, 09:00 UTC: the first commit.
EPOCH = 1717405200


class Clock:
    """Hands out increasing commit dates, irregular but the same on every run."""

    def __init__(self, start: int = EPOCH) -> None:
        self.now = start
        self._n = 0

    def tick(self) -> int:
        self._n += 1
        self.now += 60000 + (self._n * 7919) % 160000
        return self.now
