"""Every git process patchtool starts: argv and environment with the user's hooks, fsmonitor,
filters, merge drivers and external diff tools switched off.

A tree under review holds untrusted patch content, and the user's repository may carry hooks,
a `core.fsmonitor` command or filter drivers that a `.gitattributes` in that content can select.
None of them may run on our behalf, in the user's checkout or in a tool worktree alike, so every
git command is started here:

- `core.hooksPath` names an empty directory patchtool owns (covers every hook, worktrees too);
- `core.fsmonitor=false`, and no automatic gc (whose `pre-auto-gc` hook and detached child we
  do not want);
- every configured `filter.<name>` gets empty clean/smudge/process commands (git then stores and
  checks out the bytes as they are) and is no longer required;
- every configured `merge.<name>.driver` becomes git's own three-way text merge;
- `diff`, `log` and `show` get `--no-ext-diff --no-textconv`; GIT_EXTERNAL_DIFF is dropped.
"""

from __future__ import annotations

import functools
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import platformdirs

from patchtool import proc
from patchtool.errors import EnvironmentProblem

# Never let the user's environment redirect the commands we run at another repository, or run
# an external diff program.
SCRUBBED_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_EXTERNAL_DIFF",
    "GIT_ATTR_SOURCE",
)
_DIFF_COMMANDS = {"diff", "log", "show"}
_TEXT_MERGE = "git merge-file --quiet --marker-size=%L %A %O %B"


def no_hooks_dir() -> Path:
    """The empty directory every git process gets as `core.hooksPath` (made on first use).

    Should anything ever appear in it, /dev/null is used instead: a hooks path that is not a
    directory holds no hooks either.
    """
    path = Path(platformdirs.user_data_dir("patchtool")) / "no-hooks"
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not any(path.iterdir()):
            return path
    except OSError:
        pass
    return Path(os.devnull)


def git_env(extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment minus what could redirect git or run an external diff."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(extra_env or {})
    return env


def _base_options() -> list[str]:
    pairs = [
        ("core.hooksPath", str(no_hooks_dir())),
        ("core.fsmonitor", "false"),
        ("gc.auto", "0"),
        ("maintenance.auto", "false"),
    ]
    return [part for key, value in pairs for part in ("-c", f"{key}={value}")]


@functools.lru_cache(maxsize=64)
def _config_entries(cwd: str) -> tuple[tuple[str, str], ...]:
    """Every `filter.*`, `merge.*`, `patchtool.*`, `user.*` and `committer.*` config entry seen from
    `cwd` (any scope), in git's order: one `git config` serves the safety options, the settings and
    the committer's identity."""
    sections = r"^(filter|merge|patchtool|user|committer)\."
    argv = ["git", *_base_options(), "config", "--null", "--get-regexp", sections]
    done = proc.run(argv, cwd=cwd, env=git_env(), timeout=30)  # runs no filter or driver itself
    entries = []
    for entry in done.stdout.decode("utf-8", "replace").split("\0"):
        key, _, value = entry.partition("\n")
        if key:
            entries.append((key.lower(), value))
    return tuple(entries)


def _driver_names(cwd: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The filter and merge driver names configured for the repository at `cwd` (any scope)."""
    filters: set[str] = set()
    merges: set[str] = set()
    for key, _ in _config_entries(cwd):
        section, _, rest = key.partition(".")
        name = rest.rpartition(".")[0]
        if name and section in ("filter", "merge"):
            (filters if section == "filter" else merges).add(name)
    return tuple(sorted(filters)), tuple(sorted(merges))


def safety_options(cwd: Path) -> list[str]:
    """The `-c` options that keep the user's hooks, fsmonitor, filters and merge drivers idle."""
    pairs: list[tuple[str, str]] = []
    filters, merges = _driver_names(str(cwd))
    for name in filters:
        pairs += [(f"filter.{name}.{k}", "") for k in ("clean", "smudge", "process")]
        pairs.append((f"filter.{name}.required", "false"))
    pairs += [(f"merge.{name}.driver", _TEXT_MERGE) for name in merges]
    return _base_options() + [part for key, value in pairs for part in ("-c", f"{key}={value}")]


def git_argv(args: Sequence[str], cwd: Path) -> list[str]:
    """`git <safety options> ARGS`, with external diff and textconv off for diff-producing commands."""
    argv = list(args)
    if argv and argv[0] in _DIFF_COMMANDS:
        argv[1:1] = ["--no-ext-diff", "--no-textconv"]
    return ["git", *safety_options(cwd), *argv]


def run_git(
    args: Sequence[str],
    *,
    cwd: Path,
    input: bytes | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout: float | None = 600.0,
) -> proc.Completed:
    """Run git safely in `cwd` (argv list, timeout, hooks and user drivers off); never raises on failure."""
    return proc.run(git_argv(args, cwd), cwd=cwd, input=input, env=git_env(extra_env), timeout=timeout)


def start_git(
    args: Sequence[str], *, cwd: Path, extra_env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a long-lived git (cat-file --batch, fast-import) with pipes, in its own process group.

    The caller stops it with `proc.kill_group`; Ctrl-C reaches us, not it.
    """
    try:
        return subprocess.Popen(
            git_argv(args, cwd),
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=git_env(extra_env),
            start_new_session=True,
        )
    except FileNotFoundError as e:
        raise EnvironmentProblem("git: command not found", hint="install git") from e


def config_values(cwd: Path, pattern: str) -> dict[str, str]:
    """Every git config value whose key matches `pattern` (lower-cased keys; the last one wins)."""
    where = cwd if cwd.is_dir() else Path.cwd()
    argv = ["git", *_base_options(), "config", "--null", "--get-regexp", pattern]
    try:  # `git config` runs no filter or driver: the base options are enough
        done = proc.run(argv, cwd=where, env=git_env(), timeout=10)
    except EnvironmentProblem:
        return {}
    values: dict[str, str] = {}
    for entry in done.stdout.decode("utf-8", "replace").split("\0"):
        key, _, value = entry.partition("\n")
        if key:
            values[key.lower()] = value
    return values


def patchtool_config(repo: Path | None) -> dict[str, str]:
    """Every `patchtool.*` git config value seen from `repo` (its config, else the global one).

    Read once per process and directory, with the driver names (`_config_entries`).
    """
    where = repo if repo is not None and repo.is_dir() else Path.cwd()
    try:
        entries = _config_entries(str(where))
    except EnvironmentProblem:
        return {}
    return {key: value for key, value in entries if key.startswith("patchtool.")}


# Characters git trims from both ends of an ident's name and e-mail (and <, > and newlines inside).
_CRUD = frozenset([chr(c) for c in range(33)] + list(",:;<>\"\\'"))


def _without_crud(text: str) -> str:
    start, end = 0, len(text)
    while start < end and text[start] in _CRUD:
        start += 1
    while end > start and text[end - 1] in _CRUD:
        end -= 1
    return "".join(c for c in text[start:end] if c not in "<>\n")


def committer_ident(cwd: Path) -> str | None:
    """What `git var GIT_COMMITTER_IDENT` prints, without its process, when the identity is given
    outright: GIT_COMMITTER_NAME/EMAIL, else committer.name/email, else user.name/email (and $EMAIL
    for the address), at the current time in the local zone. None when git must work it out (a
    GIT_COMMITTER_DATE to parse, or no name or address given). tests/vcs/test_ident.py holds the
    two side by side."""
    env = os.environ
    if "GIT_COMMITTER_DATE" in env:
        return None
    try:
        config = dict(_config_entries(str(cwd)))  # the last value of a key wins, as in git
    except EnvironmentProblem:
        return None
    name = _first(env.get("GIT_COMMITTER_NAME"), config.get("committer.name"), config.get("user.name"))
    email = _first(
        env.get("GIT_COMMITTER_EMAIL"),
        config.get("committer.email"),
        config.get("user.email"),
        env.get("EMAIL"),
    )
    name, email = _without_crud(name or ""), _without_crud(email or "")
    if not name or not email:
        return None
    now = int(time.time())
    offset = time.localtime(now).tm_gmtoff // 60
    sign = "-" if offset < 0 else "+"
    return f"{name} <{email}> {now} {sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v is not None), None)
