"""The tree-sitter parser for C, made once per process (tree-sitter is imported only when a patch
touches C files)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# QEMU's annotation macros between a return type and a name (`static bool GRAPH_RDLOCK` above
# `blk_f(BdrvChild *child, Error **errp);`, `void GRAPH_UNLOCKED bdrv_drain_all(void);`): with
# them tree-sitter may read the macro as the name and the prototype as a call
_ANNOTATION = re.compile(
    rb"\b(?:GRAPH_(?:RDLOCK|WRLOCK|UNLOCKED)(?:_PTR)?|(?:no_)?coroutine_(?:mixed_)?fn|TSA_NO_TSA"
    rb"|QEMU_WARN_UNUSED_RESULT|G_NORETURN|G_GNUC_(?:UNUSED|WARN_UNUSED_RESULT|NULL_TERMINATED)"
    rb"|G_GNUC_(?:PRINTF|SCANF)\s*\(\s*\d+\s*,\s*\d+\s*\))(?!\w)"
)


def for_parsing(src: bytes) -> bytes:
    """`src` with the annotation macros blanked, byte for byte: parse this, and read the text of
    what it finds off `src` at the same offsets (the annotations stay in signatures). A
    preprocessor line keeps them: `#define GRAPH_RDLOCK TSA_REQUIRES_SHARED(graph_lock)` defines
    the name."""

    def blank(m: re.Match[bytes]) -> bytes:
        line = src[src.rfind(b"\n", 0, m.start()) + 1 : m.start()]
        return m.group(0) if line.lstrip().startswith(b"#") else b" " * len(m.group(0))

    return _ANNOTATION.sub(blank, src)


@lru_cache(maxsize=1)
def parser() -> Any:
    """The tree-sitter parser for C (ImportError when tree-sitter is not installed)."""
    from tree_sitter import Language, Parser

    return Parser(Language(_c_grammar()))


def _c_grammar() -> Any:
    """tree_sitter_c.language(), from its extension module.

    The package's __init__ only adds query files we do not read, and imports importlib.resources
    for them (~2.5 ms of a fetch's start-up), so the extension is loaded on its own when found.
    """
    import importlib.machinery
    import importlib.util
    import os

    spec = importlib.util.find_spec("tree_sitter_c")
    folder = os.path.dirname(spec.origin) if spec and spec.origin else ""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(folder, "_binding" + suffix)
        if folder and os.path.isfile(path):
            loader = importlib.machinery.ExtensionFileLoader("tree_sitter_c._binding", path)
            found = importlib.util.spec_from_loader(loader.name, loader)
            if found is not None:
                module = importlib.util.module_from_spec(found)
                loader.exec_module(module)
                return module.language()
    import tree_sitter_c  # another layout: the package's own way

    return tree_sitter_c.language()


# A file's conditional blocks (`#ifdef CONFIG_VHOST_CRYPTO` around the whole file, `#if
# defined(CONFIG_LINUX)` around one helper): what they hold is still the file's top level.
_CONDITIONAL = frozenset({"preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef"})


def top_level(root: Any) -> Any:
    """The top-level nodes of a parsed C file, in order, with those inside preprocessor
    conditionals (at any depth) in their place."""
    stack = list(reversed(root.children))
    while stack:
        node = stack.pop()
        if node.type in _CONDITIONAL:
            stack.extend(reversed(node.children))
        else:
            yield node
