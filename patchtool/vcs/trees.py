"""Trees and commits built in memory from a base tree plus changed entries, written in one batch.

Applying a series needs a full tree per patch, but only a handful of paths change. Rebuilding the
trees along those paths here (reading the old ones through one `git cat-file --batch`) avoids a
10,000-entry index per patch; the new objects go to git at the end as one pack stream that
`git unpack-objects` stores (one process for every tree and commit), and each id computed here is
then looked up in the repository.
"""

from __future__ import annotations

import struct
import subprocess
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from patchtool.errors import GitError
from patchtool.proc import kill_group
from patchtool.vcs.gitcmd import start_git
from patchtool.vcs.repo import GitRepo

TREE_MODE = b"40000"
_PACK_TYPES = {"commit": 1, "tree": 2, "blob": 3}
Entry = tuple[bytes, str]  # (mode as in a tree object, hex object id)


def digest(algo: str, data: bytes) -> bytes:
    """The sha1 or sha256 of data, from the interpreter's own modules when it has them: hashlib
    loads OpenSSL first (~3 ms of every apply's start-up) for the same digest."""
    try:
        if algo == "sha1":
            from _sha1 import sha1 as made  # type: ignore[import-not-found,unused-ignore]
        else:
            try:
                from _sha2 import sha256 as made  # type: ignore[import-not-found,unused-ignore]
            except ImportError:
                from _sha256 import sha256 as made  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # an interpreter built without them
        import hashlib

        return hashlib.new(algo, data).digest()
    result: bytes = made(data).digest()
    return result


def _tree_key(item: tuple[bytes, Entry]) -> bytes:
    name, (mode, _) = item
    return name + b"/" if mode == TREE_MODE else name  # git orders a tree as if it ended in "/"


class ObjectStore:
    """Reads trees of `repo`, and holds the trees and commits made until `flush` writes them."""

    def __init__(self, repo: GitRepo) -> None:
        self.repo = repo
        self.pending: dict[str, tuple[str, bytes]] = {}  # id -> (type, body)
        self._trees: dict[str, dict[bytes, Entry]] = {}
        self._cat: subprocess.Popen[bytes] | None = None
        self._algo = "sha1"

    def __enter__(self) -> ObjectStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._cat is not None:
            kill_group(self._cat)
            self._cat.wait()
            self._cat = None

    def _reader(self) -> subprocess.Popen[bytes]:
        if self._cat is None:
            self._cat = start_git(["cat-file", "--batch"], cwd=self.repo.path)  # stopped in close()
        return self._cat

    def read(self, oid: str) -> tuple[str, bytes]:
        """An object's type and body, from the repository or from what was made here."""
        if oid in self.pending:
            return self.pending[oid]
        cat = self._reader()
        assert cat.stdin is not None and cat.stdout is not None
        cat.stdin.write(oid.encode() + b"\n")
        cat.stdin.flush()
        header = cat.stdout.readline().split()
        if len(header) != 3:
            raise GitError(f"git cat-file in {self.repo.path}: object {oid} is missing")
        body = cat.stdout.read(int(header[2]) + 1)[:-1]
        return header[1].decode(), body

    def set_algorithm(self, oid: str) -> None:
        self._algo = "sha256" if len(oid) == 64 else "sha1"

    def tree_of_commit(self, commit: str) -> str:
        kind, body = self.read(commit)
        if kind != "commit" or not body.startswith(b"tree "):
            raise GitError(f"{commit}: not a commit")
        return body[5 : body.index(b"\n")].decode()

    def entries(self, tree: str) -> dict[bytes, Entry]:
        if tree not in self._trees:
            kind, body = self.read(tree)
            if kind != "tree":
                raise GitError(f"{tree}: not a tree")
            self._trees[tree] = _parse_tree(body, 32 if self._algo == "sha256" else 20)
        return self._trees[tree]

    def files_at(self, tree: str, paths: Iterable[str]) -> list[tuple[bytes, str, bytes]]:
        """(mode, oid, path) of each of `paths` in `tree`, as `ls-tree -r` lists them: a file gives
        itself, a directory every file under it, a missing path nothing. Read through the running
        `cat-file --batch`, so no process per call."""
        found: dict[bytes, tuple[bytes, str]] = {}
        for path in paths:
            entry = self._lookup(tree, path.encode("utf-8", "surrogateescape"))
            if entry is None:
                continue
            mode, oid = entry
            if mode == TREE_MODE:
                found.update(self._files_under(oid, path.encode("utf-8", "surrogateescape") + b"/"))
            else:
                found[path.encode("utf-8", "surrogateescape")] = entry
        return [(mode, oid, name) for name, (mode, oid) in sorted(found.items())]

    def _lookup(self, tree: str, path: bytes) -> Entry | None:
        entry: Entry = (TREE_MODE, tree)
        for part in path.split(b"/"):
            if entry[0] != TREE_MODE:
                return None
            next_entry = self.entries(entry[1]).get(part)
            if next_entry is None:
                return None
            entry = next_entry
        return entry

    def _files_under(self, tree: str, prefix: bytes) -> dict[bytes, Entry]:
        found: dict[bytes, Entry] = {}
        for name, (mode, oid) in self.entries(tree).items():
            if mode == TREE_MODE:
                found.update(self._files_under(oid, prefix + name + b"/"))
            else:
                found[prefix + name] = (mode, oid)
        return found

    def _put(self, kind: str, body: bytes) -> str:
        oid = digest(self._algo, b"%s %d\0" % (kind.encode(), len(body)) + body).hex()
        self.pending[oid] = (kind, body)
        return oid

    def update_tree(self, tree: str | None, changes: Mapping[str, Entry | None]) -> str:
        """The id of `tree` with each changed path set to its entry (None removes it)."""
        return self._update(tree, {k.encode("utf-8", "surrogateescape"): v for k, v in changes.items()}) or (
            self._put("tree", b"")
        )

    def _update(self, tree: str | None, changes: Mapping[bytes, Entry | None]) -> str | None:
        entries = dict(self.entries(tree)) if tree else {}
        nested: dict[bytes, dict[bytes, Entry | None]] = {}
        for path, entry in changes.items():
            head, sep, rest = path.partition(b"/")
            if sep:
                nested.setdefault(head, {})[rest] = entry
            elif entry is None:
                entries.pop(head, None)
            else:
                entries[head] = entry
        for name, sub in nested.items():
            old = entries.get(name)
            new = self._update(old[1] if old and old[0] == TREE_MODE else None, sub)
            if new is None:
                entries.pop(name, None)
            else:
                entries[name] = (TREE_MODE, new)
        if not entries:
            return None
        body = b"".join(
            mode + b" " + name + b"\0" + bytes.fromhex(oid)
            for name, (mode, oid) in sorted(entries.items(), key=_tree_key)
        )
        oid = self._put("tree", body)
        self._trees[oid] = entries
        return oid

    def make_commit(self, tree: str, parent: str, author: str, committer: str, message: str) -> str:
        body = f"tree {tree}\nparent {parent}\nauthor {author}\ncommitter {committer}\n\n".encode()
        return self._put("commit", body + message.encode("utf-8", "surrogateescape"))

    def flush(self, scratch: Path) -> None:
        """Write every object made here into the repository, then check each id is there.

        `scratch` is unused since the objects go as one pack on stdin; kept for callers.
        """
        if not self.pending:
            return
        written = dict(self.pending)
        self.repo.git("unpack-objects", "-q", input=pack(list(written.values()), self._algo))
        self.pending.clear()
        for oid, (kind, _) in written.items():  # read back through the running cat-file
            if self.read(oid)[0] != kind:
                raise GitError(f"git unpack-objects in {self.repo.path}: object {oid} is not a {kind}")


def pack(objects: list[tuple[str, bytes]], algo: str = "sha1") -> bytes:
    """Objects as a version 2 pack stream (no deltas), as `git unpack-objects` reads one."""
    parts = [b"PACK", struct.pack(">II", 2, len(objects))]
    for kind, body in objects:
        size = len(body)
        byte = (_PACK_TYPES[kind] << 4) | (size & 0x0F)
        size >>= 4
        header = bytearray()
        while size:
            header.append(byte | 0x80)
            byte, size = size & 0x7F, size >> 7
        header.append(byte)
        parts += [bytes(header), zlib.compress(body)]
    data = b"".join(parts)
    return data + digest(algo, data)


def _parse_tree(body: bytes, width: int) -> dict[bytes, Entry]:
    entries: dict[bytes, Entry] = {}
    pos = 0
    while pos < len(body):
        space = body.index(b" ", pos)
        nul = body.index(b"\0", space)
        entries[body[space + 1 : nul]] = (body[pos:space], body[nul + 1 : nul + 1 + width].hex())
        pos = nul + 1 + width
    return entries


def tree_mode(index_mode: str) -> bytes:
    """An index mode ("100644", "040000") as a tree object spells it ("100644", "40000")."""
    return index_mode.lstrip("0").encode()


def write_index_file(path: Path, entries: Iterable[tuple[bytes, str, bytes]], algo: str = "sha1") -> None:
    """A version 2 index holding (mode, oid, path) at stage 0 with empty stat data: the file
    `git update-index --index-info` writes for the same entries, without its process.
    tests/vcs/test_object_store.py holds the two side by side."""
    rows = sorted({name: (mode, oid) for mode, oid, name in entries}.items())
    parts = [b"DIRC", struct.pack(">II", 2, len(rows))]
    for name, (mode, oid) in rows:
        fixed = struct.pack(">10I", 0, 0, 0, 0, 0, 0, int(mode, 8), 0, 0, 0) + bytes.fromhex(oid)
        entry = fixed + struct.pack(">H", min(len(name), 0xFFF)) + name
        parts.append(entry + b"\0" * (8 - len(entry) % 8))  # NUL-terminated, padded to 8 bytes
    data = b"".join(parts)
    path.write_bytes(data + digest(algo, data))


def read_index_file(path: Path, width: int = 20) -> dict[str, tuple[str, str]] | None:
    """Stage-0 entries (path -> (mode, oid)) of a version 2/3 index file; None for any other shape.

    Reading the small index ourselves saves a `git ls-files` per patch; anything unusual (version 4,
    a split index, unmerged entries) returns None so the caller asks git instead.
    """
    data = path.read_bytes()
    if len(data) < 12 or data[:4] != b"DIRC":
        return None
    version, count = int.from_bytes(data[4:8], "big"), int.from_bytes(data[8:12], "big")
    if version not in (2, 3):
        return None
    entries: dict[str, tuple[str, str]] = {}
    pos = 12
    for _ in range(count):
        mode = int.from_bytes(data[pos + 24 : pos + 28], "big")
        oid = data[pos + 40 : pos + 40 + width].hex()
        flags = int.from_bytes(data[pos + 40 + width : pos + 42 + width], "big")
        start = pos + 42 + width + (2 if version == 3 and flags & 0x4000 else 0)
        end = data.index(b"\0", start)
        if (flags >> 12) & 3:
            return None
        entries[data[start:end].decode("utf-8", "surrogateescape")] = (f"{mode:06o}", oid)
        pos += (end - pos + 8) & ~7
    if data[pos : pos + 4] == b"link":
        return None
    return entries
