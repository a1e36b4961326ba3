"""What a pushed commit changes, read from git: the changed paths (NUL-separated, renames
and modes included) and the line numbers each file gained."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kbapp.sync.git import Git

_HUNK_RE = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class _Change:
    status: str  # git's letter: A, M, D, R, C, T
    paths: tuple[str, ...]  # a rename or copy gives both names, the new one last
    mode: str  # the new file mode ('120000' is a symbolic link, '160000' a submodule)
    #: the content is the old one, byte for byte (a rename or copy that changed nothing inside)
    same_content: bool = False

    @property
    def path(self) -> str:
        return self.paths[-1]


def _changed_paths(git: Git, commit: str, parents: list[str]) -> list[_Change]:
    """What ``commit`` changes (file names read NUL-separated, never split on whitespace). For
    a merge, only what differs from every parent (what the merge itself decided)."""
    if not parents:
        records = git.run(
            "-c", "core.quotepath=off", "ls-tree", "-r", "-z", "--full-tree", commit, strip=False
        ).stdout.split("\0")
        out = []
        for record in records:
            info, tab, name = record.partition("\t")
            if tab:
                out.append(_Change("A", (name,), info.split(" ", 1)[0]))
        return out
    per_parent = [_diff_names(git, parent, commit) for parent in parents]
    if len(per_parent) == 1:
        return per_parent[0]
    common = set.intersection(*({p for c in changes for p in c.paths} for changes in per_parent))
    return [c for c in per_parent[0] if any(p in common for p in c.paths)]


def _diff_names(git: Git, parent: str, commit: str) -> list[_Change]:
    fields = git.run(
        "-c",
        "core.quotepath=off",
        "diff-tree",
        "-r",
        "-z",
        "-M",
        "--no-commit-id",
        "--raw",
        "--no-abbrev",
        parent,
        commit,
        strip=False,
    ).stdout.split("\0")
    out: list[_Change] = []
    index = 0
    while index < len(fields) and fields[index].startswith(":"):
        # ":<old mode> <new mode> <old id> <new id> <status>", then one or two names
        meta = fields[index][1:].split(" ")
        status = meta[4][:1]
        count = 2 if status in "RC" else 1
        out.append(
            _Change(
                status, tuple(fields[index + 1 : index + 1 + count]), meta[1], meta[2] == meta[3]
            )
        )
        index += 1 + count
    return out


def _added_lines(
    git: Git, commit: str, parents: list[str], paths: list[str]
) -> dict[str, set[int]]:
    """Line numbers each path gained in ``commit`` (against its first parent). A path missing
    from the answer could not be matched in git's patch: the caller scans it in full."""
    if not paths:
        return {}
    if not parents:  # a first commit adds every line
        blobs = git.read_blobs([f"{commit}:{p}" for p in paths])
        return {p: _all_lines(data) for p, data in zip(paths, blobs)}
    patch = git.run(
        "-c",
        "core.quotepath=off",
        "diff",
        "-U0",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "-M",
        "--dst-prefix=b/",
        "--src-prefix=a/",
        parents[0],
        commit,
        "--",
        *(f":(literal){p}" for p in paths),
        strip=False,
    ).stdout
    added: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in patch.split("\n"):
        if line.startswith("+++ "):
            name = _unquote_patch_name(line[4:])
            current = added.setdefault(name[2:], set()) if name.startswith("b/") else None
        elif line.startswith("@@") and current is not None:
            match = _HUNK_RE.match(line)
            if match:
                start, count = int(match.group(1)), int(match.group(2) or "1")
                current.update(range(start, start + count))
        elif line.startswith("diff --git "):
            current = None
    return added


_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def _unquote_patch_name(name: str) -> str:
    """A file name as git writes it in a patch header: C-quoted (``"a\\tb.md"``) when it holds
    a quote, backslash or control character, else as is with a tab after it when it holds a
    space."""
    if not name.startswith('"'):
        return name[:-1] if name.endswith("\t") else name
    out = bytearray()
    index = 1
    while index < len(name):
        char = name[index]
        if char == '"':
            break
        if char == "\\" and index + 1 < len(name):
            following = name[index + 1]
            if following in _ESCAPES:
                out.append(_ESCAPES[following])
                index += 2
                continue
            if following.isdigit():
                out.append(int(name[index + 1 : index + 4], 8))
                index += 4
                continue
        out.extend(char.encode("utf-8", "surrogateescape"))
        index += 1
    return out.decode("utf-8", "surrogateescape")


def _all_lines(data: bytes | None) -> set[int]:
    return set(range(1, (data or b"").count(b"\n") + 2))
