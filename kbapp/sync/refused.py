"""Unpublished commits the shared repository refuses, and the safe way out of them.

The shared repository's ``pre-receive`` hook (:mod:`kbapp.trust.serverhook`) judges *every* pushed
commit, so a refused commit blocks every later sync: fixing the file in a new commit does not
help, the old commit is still in the push. kbapp therefore

- checks the unpublished commits with the hook's own code (:func:`check_unpublished`, the
  same :func:`kbapp.trust.serverhook.check_commit`) before it pushes, so a refusal is known, with
  file, line and rule, before anything leaves the machine;
- reads the hook's answer when the server refuses all the same (an older or stricter hook:
  :func:`parse_hook_output`);
- offers one way out, :func:`drop_refused` (``kbapp refused --drop``, the window's *Sync >
  Take refused content out…*): the unpublished commits are rebuilt with the refused files as
  the shared repository has them, every other change kept, commit by commit (authors, dates
  and messages unchanged). The user's own version of each refused file stays in the work tree,
  uncommitted, to be fixed (the next sync commits it once it passes); a ``KB-Org`` trailer
  that contradicts its committer's e-mail is taken out of the commit message; the commits as
  they were stay reachable from ``refs/kbapp/kept/<time>-before-drop-refused`` (never pruned).

Nothing here rewrites a published commit: only commits not on the shared branch are rebuilt.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kbapp.config import CONFIG_PATH, KbConfig, config_from_dict
from kbapp.errors import ConfigError, KbError, SyncError
from kbapp.sync import recovery
from kbapp.trust import serverhook

if TYPE_CHECKING:
    from kbapp.sync.git import Git
    from kbapp.workspace import Workspace

REMOTE = "origin"
#: A problem line of the hook's report (:func:`kbapp.trust.serverhook.report`), after ``remote:``.
_TRAILER_RE = re.compile(r"^KB-Org:.*\n?", re.M)
_HOOK_LINE_RE = re.compile(r"^\s*([0-9a-f]{7,40}) (.+?):(\d+): (.*) \[([A-Za-z0-9_.-]+)\]\s*$")


@dataclass(frozen=True)
class Refusal:
    """One thing the shared repository refuses: in which commit, file, line, by which rule."""

    commit: str
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line else "")
        return f"{where}: {self.message} [{self.rule}] (commit {self.commit[:10]})"


class RefusedError(SyncError):
    """Unpublished commits hold what the shared repository refuses; ``refusals`` says what."""

    def __init__(self, message: str, refusals: list[Refusal], details: str = "") -> None:
        super().__init__(message, details or "\n".join(str(r) for r in refusals))
        self.refusals = refusals


@dataclass
class DropReport:
    rewritten: int = 0  # unpublished commits rebuilt
    dropped: int = 0  # commits that held nothing but refused content
    paths: list[str] = field(default_factory=list)  # refused files taken out of the commits
    kept: str = ""  # the ref keeping the commits as they were
    left_unfixed: list[Refusal] = field(
        default_factory=list
    )  # not about a file (a commit's identity)
    message: str = ""
    #: each unpublished commit -> the commit that replaces it (its parent's when dropped)
    replaced: dict[str, str] = field(default_factory=dict)


def tracking_ref(ws: Workspace) -> str:
    branch = ws.git.current_branch() or "main"
    return f"refs/remotes/{REMOTE}/{branch}"


def unpublished(git: Git, upstream: str | None) -> list[str]:
    """Commits on HEAD not on the shared branch (oldest first)."""
    if git.head() is None:
        return []
    args = ["rev-list", "--reverse", "--topo-order", "HEAD"]
    if upstream:
        args += ["--not", upstream]
    return git.out(*args).split()


def shared_config(git: Git, upstream: str | None, fallback: KbConfig) -> KbConfig:
    """The rules the hook judges a push by: the shared branch's ``.kb/config.toml``."""
    if not upstream:
        return fallback
    data = git.read_blob(f"{upstream}:{CONFIG_PATH}")
    if data is None:
        return KbConfig()
    try:
        return config_from_dict(tomllib.loads(data.decode("utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ConfigError):
        return fallback


def check_unpublished(ws: Workspace, upstream: str | None = None) -> list[Refusal]:
    """What the shared repository's hook would refuse in the unpublished commits, found with
    the hook's own code. ``upstream``: the shared branch's commit (default: the tracking ref)."""
    git = ws.git
    if upstream is None:
        upstream = git.rev(tracking_ref(ws))
    commits = unpublished(git, upstream)
    if not commits:
        return []
    config = shared_config(git, upstream, ws.config)
    found: list[Refusal] = []
    for commit in commits:
        for rejection in serverhook.check_commit(git, commit, config):
            v = rejection.violation
            found.append(Refusal(commit, v.path, v.line, v.rule, v.message))
    return found


def parse_hook_output(text: str) -> list[Refusal]:
    """The problems the server's hook listed in its answer to a push (``remote:`` lines)."""
    found = []
    for line in text.splitlines():
        if line.startswith("remote:"):
            line = line[len("remote:") :]
        match = _HOOK_LINE_RE.match(line)
        if match:
            commit, path, number, message, rule = match.groups()
            found.append(Refusal(commit, path, int(number), rule, message))
    return found


def refused_error(refusals: list[Refusal], *, by_server: bool) -> RefusedError:
    first = refusals[0]
    more = f" (and {len(refusals) - 1} more)" if len(refusals) > 1 else ""
    who = (
        "The shared repository refused your changes"
        if by_server
        else "Not sent: the shared repository would refuse your changes"
    )
    where = first.path + (f", line {first.line}" if first.line else "")
    if all(r.rule == "pusher-identity" for r in refusals):
        # Who the commits say made them is not content to take out: the e-mail and
        # organisation kbapp commits with must be those of the account that pushes.
        return RefusedError(
            f"{who}: {where}: {first.message} [{first.rule}]{more}. Nothing was lost; check "
            "that your e-mail and organisation in kbapp's settings are those of the account "
            "you push with (kbapp settings user_email ...)",
            refusals,
        )
    return RefusedError(
        f"{who}: {where}: {first.message} [{first.rule}]{more}. Nothing was lost; take the "
        "refused content out of your unpublished changes with 'kbapp refused --drop' (Sync > "
        "Take refused content out…): your version of the file stays on disk to be fixed",
        refusals,
    )


def drop_refused(ws: Workspace, paths: list[str] | None = None) -> DropReport:
    """Rebuild the unpublished commits with ``paths`` (default: every file the hook refuses)
    as the shared repository has them; see the module doc. The work tree is not touched."""
    git = ws.git
    report = DropReport()
    with git.write_lock():
        branch = git.current_branch()
        if not branch:
            raise SyncError("This knowledge base is not on a branch; nothing was changed")
        upstream = git.rev(f"refs/remotes/{REMOTE}/{branch}")
        identity: set[str] = set()
        if paths is None:
            refusals = check_unpublished(ws, upstream)
            # A KB-Org trailer that contradicts the committer's e-mail: the trailer goes.
            identity = {r.commit for r in refusals if r.rule == "identity"}
            report.left_unfixed = [
                r for r in refusals if r.path.startswith("(") and r.rule != "identity"
            ]
            paths = sorted({r.path for r in refusals if not r.path.startswith("(")})
        report.paths = list(paths)
        commits = unpublished(git, upstream)
        if not commits or not (paths or identity):
            report.message = (
                "Nothing to take out: the shared repository refuses nothing "
                "in your unpublished changes"
                if not report.left_unfixed
                else "The refused part is not in a file: " + str(report.left_unfixed[0])
            )
            return report
        head = git.head()
        assert head is not None
        report.kept = recovery.keep(git, head, "before-drop-refused")
        mapping: dict[str, str] = {}
        for commit in commits:
            mapping[commit] = _rebuilt(
                git, commit, upstream, paths, mapping, report, commit in identity
            )
        new_head = mapping[head]
        report.replaced = {old: new for old, new in mapping.items() if old != new}
        # Branch and index move; the work tree keeps every file as it is (the user's own
        # version of the refused files shows as a change still to commit).
        git.run("reset", "-q", "--mixed", new_head)
    report.message = (
        f"Took {', '.join(paths)} out of {report.rewritten} unpublished commit(s) "
        f"({report.dropped} left empty and dropped); your version stays on disk, fix it and "
        f"sync again. The commits as they were are kept as {report.kept}"
    )
    return report


def _rebuilt(
    git: Git,
    commit: str,
    upstream: str | None,
    paths: list[str],
    mapping: dict[str, str],
    report: DropReport,
    drop_trailer: bool = False,
) -> str:
    parents = git.out("rev-list", "--parents", "-n", "1", commit).split()[1:]
    new_parents = [mapping.get(p, p) for p in parents]
    base = ""
    if upstream:
        base = git.run("merge-base", commit, upstream, check=False).stdout.strip()
    index = git.git_dir / "kbapp" / "rewrite-index"
    index.parent.mkdir(parents=True, exist_ok=True)
    index.unlink(missing_ok=True)
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git.run("read-tree", commit, env=env)
        lines = []
        for path in paths:
            entry = git.out("ls-tree", "-z", base, "--", path).rstrip("\0") if base else ""
            if entry:
                info, _, _name = entry.partition("\t")
                mode, _kind, sha = info.split()
                lines.append(f"{mode} {sha}\t{path}\0")
            else:
                lines.append(f"0 {'0' * 40}\t{path}\0")
        git.run("update-index", "-z", "--index-info", input="".join(lines), env=env)
        tree = git.out("write-tree", env=env)
    finally:
        index.unlink(missing_ok=True)
    original_tree = git.out("rev-parse", f"{commit}^{{tree}}")
    if tree == original_tree and new_parents == parents and not drop_trailer:
        return commit  # untouched, and so is everything before it
    if (
        len(new_parents) == 1
        and tree != original_tree
        and tree == git.out("rev-parse", f"{new_parents[0]}^{{tree}}")
    ):
        report.dropped += 1
        return new_parents[0]
    if len(new_parents) > 1 and len(set(new_parents)) == 1:
        new_parents = new_parents[:1]
    fields = git.out("show", "-s", "--format=%an%x00%ae%x00%aD%x00%cn%x00%ce%x00%cD", commit)
    an, ae, ad, cn, ce, cd = (fields.split("\0") + [""] * 6)[:6]
    message = git.run("show", "-s", "--format=%B", commit, strip=False).stdout
    if drop_trailer:
        message = _TRAILER_RE.sub("", message).rstrip() + "\n"
    env = {
        "GIT_AUTHOR_NAME": an,
        "GIT_AUTHOR_EMAIL": ae,
        "GIT_AUTHOR_DATE": ad,
        "GIT_COMMITTER_NAME": cn,
        "GIT_COMMITTER_EMAIL": ce,
        "GIT_COMMITTER_DATE": cd,
    }
    args = ["commit-tree", tree]
    for parent in new_parents:
        args += ["-p", parent]
    try:
        new = git.out(*args, "-F", "-", input=message, env=env)
    except KbError as exc:
        raise SyncError(
            "The unpublished commits could not be rebuilt; nothing was changed", details=exc.details
        ) from None
    report.rewritten += 1
    return new
