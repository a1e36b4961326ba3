"""The shared remote's own policy: a ``pre-receive`` hook that refuses bad pushes.

The client's checks protect honest users from mistakes; a partner on plain git, an old kbapp or
a hand-made commit never runs them. So the bare repository both organisations push to runs
``kbapp server-hook pre-receive`` and rejects a push when any new commit

- adds a line that looks like a secret (only added lines count: history is what it is),
- adds or changes a document marked ``internal`` in a ``shared`` knowledge base,
- holds a conflict marker, or front matter that is unreadable or has invalid core fields,
- breaks ``.kb/config.toml``,
- changes a path protected for one organisation, when the commit comes from another.

Rules come from ``.kb/config.toml`` *as the branch has it before the push*, so a push cannot
loosen the rules it is judged by::

    [[policy.protected]]
    paths = ["security/**", ".kb/config.toml"]
    orgs = ["internal"]          # only these organisations may change them

The organisation of a commit is the one its committer's e-mail domain belongs to, else its
``KB-Org`` trailer; when both are present they must agree. Commit metadata is written by the
pusher, so where the server knows who authenticated (``KBAPP_PUSHER_EMAIL``, Gitea's
``GITEA_PUSHER_EMAIL``), that person's organisation is the one protected paths are checked
against.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from dataclasses import dataclass

from kbapp import policy
from kbapp.config import CONFIG_PATH, KbConfig, config_from_dict
from kbapp.errors import ConfigError
from kbapp.git import Git

ZERO = "0" * 40
_TRAILER_RE = re.compile(r"^KB-Org:[ \t]*(\S+)[ \t]*$", re.M)
_HUNK_RE = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
PUSHER_VARIABLES = ("KBAPP_PUSHER_EMAIL", "GITEA_PUSHER_EMAIL")


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str


@dataclass(frozen=True)
class Rejection:
    commit: str
    violation: policy.Violation

    def __str__(self) -> str:
        return f"{self.commit[:10]} {self.violation}"


@dataclass(frozen=True)
class ProtectedPaths:
    patterns: tuple[str, ...]
    orgs: tuple[str, ...]

    def matches(self, path: str) -> bool:
        return any(_glob(path, pattern) for pattern in self.patterns)


def _glob(path: str, pattern: str) -> bool:
    pattern = pattern.lstrip("/")
    if pattern.endswith("/**"):
        return path.startswith(pattern[:-2]) or path == pattern[:-3]
    return fnmatch.fnmatchcase(path, pattern)


def protected_paths(config: KbConfig) -> list[ProtectedPaths]:
    rules = config.section("policy").get("protected", [])
    out = []
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            raise ConfigError(f"{CONFIG_PATH}: policy.protected[{index}] must be a table")
        out.append(ProtectedPaths(_strings(rule.get("paths")),
                                  _strings(rule.get("orgs", rule.get("org")))))
    return out


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def parse_updates(text: str) -> list[RefUpdate]:
    updates = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3:
            updates.append(RefUpdate(*parts))
    return updates


def check_push(git: Git, updates: list[RefUpdate], pusher_email: str | None = None) -> list[Rejection]:
    """Everything wrong with the commits a push would add (empty: accept the push)."""
    if pusher_email is None:
        pusher_email = next((os.environ[v] for v in PUSHER_VARIABLES if os.environ.get(v)), "")
    found: list[Rejection] = []
    seen: set[str] = set()
    for update in updates:
        if update.new == ZERO:
            continue  # a deleted branch adds nothing
        config = _config_before(git, update)
        pusher_org = config.org_for_email(pusher_email) if pusher_email else ""
        commits = git.out("rev-list", "--reverse", "--topo-order", update.new, "--not", "--all")
        for commit in commits.split():
            if commit not in seen:
                seen.add(commit)
                found.extend(check_commit(git, commit, config, pusher_org))
    return found


def _config_before(git: Git, update: RefUpdate) -> KbConfig:
    """The rules the branch had before this push (the default branch's for a new branch; the
    pushed commit's own only for the very first push to an empty repository)."""
    for base in (update.old, "HEAD", update.new):
        if base == ZERO:
            continue
        data = git.read_blob(f"{base}:{CONFIG_PATH}")
        if data is not None:
            try:
                return config_from_dict(tomllib.loads(data.decode("utf-8")))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, ConfigError):
                continue
    return KbConfig()


def check_commit(git: Git, commit: str, config: KbConfig, pusher_org: str = "") -> list[Rejection]:
    found: list[policy.Violation] = []
    header = git.out("show", "-s", "--format=%ce%x00%B", commit)
    email, _, body = header.partition("\0")
    trailers = _TRAILER_RE.findall(body)
    trailer_org = trailers[-1] if trailers else ""
    email_org = config.org_for_email(email)
    if trailer_org and email_org and trailer_org != email_org:
        found.append(policy.Violation(
            "(commit)", 0, "identity",
            f"the commit says 'KB-Org: {trailer_org}' but its committer {email} belongs to "
            f"{email_org}",
        ))
    org = pusher_org or email_org or trailer_org
    parents = git.out("rev-list", "--parents", "-n", "1", commit).split()[1:]
    changes = _changed_paths(git, commit, parents)
    for rule in protected_paths(config):
        for path in sorted({p for _status, paths in changes for p in paths}):
            if rule.matches(path) and org not in rule.orgs:
                who = f"organisation '{org}'" if org else "an unknown organisation"
                found.append(policy.Violation(
                    path, 0, "protected-path",
                    f"only {', '.join(rule.orgs) or 'nobody'} may change this path; this commit "
                    f"is from {who}",
                ))
    added = _added_lines(git, commit, parents, [paths[-1] for status, paths in changes
                                                 if status != "D"])
    for status, paths in changes:
        if status == "D":
            continue
        path = paths[-1]
        data = git.read_blob(f"{commit}:{path}")
        if data is None:
            continue  # a submodule or a symlink to nowhere: nothing to read
        found.extend(policy.check_commit_file(path, data, config, lines=added.get(path, set())))
    return [Rejection(commit, v) for v in found]


def _changed_paths(git: Git, commit: str, parents: list[str]) -> list[tuple[str, list[str]]]:
    """(status letter, [paths]) of what ``commit`` changes; a rename gives both names. For a
    merge, only what differs from every parent (what the merge itself decided)."""
    if not parents:
        names = git.run("-c", "core.quotepath=off", "ls-tree", "-r", "-z", "--name-only", commit,
                        strip=False).stdout.split("\0")
        return [("A", [n]) for n in names if n]
    per_parent = [_diff_names(git, parent, commit) for parent in parents]
    if len(per_parent) == 1:
        return per_parent[0]
    common = set.intersection(*({p for _s, ps in changes for p in ps} for changes in per_parent))
    return [(s, ps) for s, ps in per_parent[0] if any(p in common for p in ps)]


def _diff_names(git: Git, parent: str, commit: str) -> list[tuple[str, list[str]]]:
    fields = git.run("-c", "core.quotepath=off", "diff-tree", "-r", "-z", "-M", "--no-commit-id",
                     "--name-status", parent, commit, strip=False).stdout.split("\0")
    out: list[tuple[str, list[str]]] = []
    index = 0
    while index < len(fields) and fields[index]:
        status = fields[index][0]
        count = 2 if status in "RC" else 1
        out.append((status, fields[index + 1 : index + 1 + count]))
        index += 1 + count
    return out


def _added_lines(git: Git, commit: str, parents: list[str], paths: list[str]) -> dict[str, set[int]]:
    """Line numbers each path gained in ``commit`` (against its first parent)."""
    if not paths:
        return {}
    if not parents:  # a first commit adds every line
        return {p: _all_lines(git.read_blob(f"{commit}:{p}")) for p in paths}
    patch = git.run("-c", "core.quotepath=off", "diff", "-U0", "--no-color", "--no-ext-diff",
                    "-M", "--dst-prefix=b/", "--src-prefix=a/", parents[0], commit, "--", *paths,
                    strip=False).stdout
    added: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in patch.split("\n"):
        if line.startswith("+++ "):
            name = line[4:]
            current = added.setdefault(name[2:], set()) if name.startswith("b/") else None
        elif line.startswith("@@") and current is not None:
            match = _HUNK_RE.match(line)
            if match:
                start, count = int(match.group(1)), int(match.group(2) or "1")
                current.update(range(start, start + count))
    return added


def _all_lines(data: bytes | None) -> set[int]:
    return set(range(1, (data or b"").count(b"\n") + 2))


def report(rejections: list[Rejection]) -> str:
    lines = [f"kbapp: push rejected: {len(rejections)} problem(s) in the pushed commits"]
    lines += [f"  {r}" for r in rejections[:50]]
    if len(rejections) > 50:
        lines.append(f"  ... and {len(rejections) - 50} more")
    lines.append("Fix them in new commits (or rewrite the commits), then push again. "
                 "See docs/security.md.")
    return "\n".join(lines)
