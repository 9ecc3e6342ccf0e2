"""What `--help` shows: commands in pipeline order, metavariables a user reads (SOURCE, PATH, N).

Typer names a value by its Python type (`<str>`, `<path>`, `{source}`); a user needs to know what
to type. Options name their value here once, by option name, else by the kind of value, so every
command says the same thing for the same option.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import typer
from typer._click.core import Context
from typer._click.types import StringParamType  # typer's own (vendored) click, not a second copy
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

# What the value of an option is, by option name (the same word wherever the option appears).
_BY_NAME: dict[str, str] = {
    "--base": "REV",
    "--rev": "REV",
    "--onto": "REV",
    "--good": "REV",
    "--bad": "REV",
    "--from": "REV",
    "--branch": "NAME",
    "--project": "NAME",
    "--list": "NAME",
    "--test": "TEST",
    "--bisect-test": "TEST",
    "--setup": "SETUP",
    "--suite": "SUITE",
    "--target": "TARGET",
    "--run": "CMD",
    "--configure": "ARGS",
    "--format": "FORMAT",
    "--patchew-git": "URL",
    "--dependency": "MBOX",
    "--timeout": "SECONDS",
    "--max-time": "SECONDS",
    "--confidence": "P",
    "--dir": "DIR",
    "--output": "PATH",
}
# Positional arguments, by parameter name.
_ARGUMENTS: dict[str, str] = {"configure_args": "ARGS", "names": "TEST"}


# click's name for a kind of value -> the word help shows
_BY_KIND = {"int": "N", "int range": "N", "float": "NUMBER", "float range": "NUMBER", "path": "PATH"}


class _Words(StringParamType):
    """Text whose help shows only the argument's name (typer would add `<str>` beside it)."""

    def get_metavar(self, param: Any, ctx: Any) -> str:
        return ""


def metavar_for(param: TyperOption | TyperArgument) -> str | None:
    """The word help shows for this parameter's value; None for flags."""
    if isinstance(param, TyperOption):
        if param.is_flag or param.count:
            return None
        long_names = [o for o in param.opts if o.startswith("--")]
        name = long_names[0] if long_names else ""
        if name.endswith("-url"):
            return "URL"
        return _BY_NAME.get(name) or _BY_KIND.get(param.type.name, "TEXT")
    word = _ARGUMENTS.get(param.name or "") or (param.name or "value").upper()
    return f"{word}..." if param.nargs != 1 else word


def unwrap(text: str | None) -> str | None:
    """A docstring's paragraphs as one line each, for the terminal to wrap at its own width.

    Typer keeps a docstring's line breaks, so a text wrapped at 100 columns came out ragged on an
    80-column terminal and an example was cut where the source wrapped it: copied, the command ran
    without its --repo. A line starting "Example:" still starts a line of its own.
    """
    if text is None:
        return None
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines: list[str] = []
        for line in paragraph.split("\n"):
            if lines and not line.startswith("Example:"):
                lines[-1] = f"{lines[-1]} {line.strip()}"
            else:
                lines.append(line.strip())
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


class PatchtoolCommand(TyperCommand):
    """A typer command whose usage line and help name values as a user would (SOURCE..., PATH),
    its help's paragraphs unwrapped (unwrap)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = unwrap(self.help)
        for param in self.params:
            if param.metavar is None and isinstance(param, TyperOption | TyperArgument):
                param.metavar = metavar_for(param)
            if isinstance(param, TyperArgument) and type(param.type) is StringParamType:
                param.type = _Words()

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        # Typer writes a required argument as `{source}`; a usage line says `SOURCE`.
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                word = param.metavar or (param.name or "").upper()
                pieces.append(word if param.required else f"[{word}]")
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


def use_patchtool_commands(app: typer.Typer) -> None:
    """Build every registered command with PatchtoolCommand (unless it asked for its own class)."""
    for info in app.registered_commands:
        if info.cls in (None, TyperCommand):  # typer fills in its own default
            info.cls = PatchtoolCommand


def order_commands(group: object, order: Sequence[str]) -> None:
    """List commands in pipeline order (typer keeps import order, which is alphabetical here)."""
    if not isinstance(group, TyperGroup):
        return
    rank = {name: i for i, name in enumerate(order)}
    ordered = sorted(group.commands.items(), key=lambda item: rank.get(item[0], len(rank)))
    group.commands = dict(ordered)
