"""The shared remote's own policy: a ``pre-receive`` hook that refuses bad pushes.

The client's checks protect honest users from mistakes; a partner on plain git, an old kbapp or
a hand-made commit never runs them. So the bare repository both organisations push to runs
``kbapp server-hook pre-receive`` and rejects a push when any new commit

- adds a line that looks like a secret (only added lines count: history is what it is),
- adds or changes a document marked ``internal`` in a ``shared`` knowledge base,
- holds a conflict marker, or front matter that is unreadable or has invalid core fields,
- breaks ``.kb/config.toml``, or gives Markdown documents attributes that break kbapp in
  ``.gitattributes``,
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

import os
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kbapp.config import CONFIG_PATH, KbConfig, config_from_dict, path_matches
from kbapp.errors import ConfigError
from kbapp.interaction import terminal_safe
from kbapp.sync.git import Git
from kbapp.trust import policy, tree_rules

ZERO = "0" * 40
_TRAILER_RE = re.compile(r"^KB-Org:[ \t]*(\S+)[ \t]*$", re.M)
_HUNK_RE = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
#: Where a server puts the authenticated pusher's e-mail: kbapp's own (an SSH forced command
#: or a wrapper sets it), Gitea's and Forgejo's.
PUSHER_VARIABLES = ("KBAPP_PUSHER_EMAIL", "GITEA_PUSHER_EMAIL")
#: Where a server puts the authenticated pusher's *user name* (no e-mail): GitLab's server
#: hooks, gitolite, git http-backend behind a web server's login. kbapp maps the name to an
#: e-mail with :data:`PUSHERS_FILE`.
USER_VARIABLES = ("GL_USERNAME", "GL_USER", "REMOTE_USER")
#: In the bare repository (the server's side: no push can change it): ``[pushers]`` user name
#: = e-mail, for servers that give a user name.
PUSHERS_FILE = "kbapp-pushers.toml"
#: The knowledge base's own templates (``.kb/templates/``), protected by default like the config.
TEMPLATES_PATTERN = "/.kb/templates"
TEMPLATES_PROBE = ".kb/templates/template.md"  # how a rule of the config's own is seen to name them
MAILMAP_NAME = ".mailmap"


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
        # gitignore's rules (as every path list in config.toml), on paths as a case-insensitive
        # file system sees them
        return path_matches(fold_path(path), [fold_path(p) for p in self.patterns])


def fold_path(path: str) -> str:
    """``path`` as a case-insensitive file system sees it (Windows, macOS): case folded,
    NFC, invisible format characters dropped, trailing dots and spaces of each part dropped
    (NTFS), an alternate data stream (``::$DATA``) dropped. ``.KB/Config.toml`` and
    ``.kb/config.toml`` are the same file on a partner's laptop, so a rule protects both."""
    path = unicodedata.normalize("NFC", path)
    path = "".join(c for c in path if unicodedata.category(c) != "Cf").casefold()
    parts = [part.split("::", 1)[0].rstrip(". ") for part in path.split("/")]
    return "/".join(parts)


def protected_paths(config: KbConfig) -> list[ProtectedPaths]:
    """The ``[[policy.protected]]`` rules, plus the default ones: ``.kb/config.toml`` (the
    rules themselves), ``.gitattributes`` (how git treats the documents) and ``.mailmap``
    (who plain git says made each change) may only be
    changed by the organisation that owns the config, unless a rule of its own names the
    file."""
    rules = config.section("policy").get("protected", [])
    out = []
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            raise ConfigError(f"{CONFIG_PATH}: policy.protected[{index}] must be a table")
        out.append(
            ProtectedPaths(_strings(rule.get("paths")), _strings(rule.get("orgs", rule.get("org"))))
        )
    owner = config.owner_org
    if owner and not any(rule.matches(CONFIG_PATH) for rule in out):
        out.append(ProtectedPaths((CONFIG_PATH,), (owner,)))
    # .gitattributes (at any depth) decides how every clone encodes, converts and merges the
    # documents: part of the repository contract, protected like the config.
    if owner and not any(rule.matches(policy.GITATTRIBUTES_NAME) for rule in out):
        out.append(ProtectedPaths((policy.GITATTRIBUTES_NAME,), (owner,)))
    # The team's templates are what both organisations' new documents are written from (their
    # guidance, fields and sensitivity): a partner must not change them for the owner.
    if owner and not any(rule.matches(TEMPLATES_PROBE) for rule in out):
        out.append(ProtectedPaths((TEMPLATES_PATTERN,), (owner,)))
    # .mailmap renames who made each change in plain git's log and blame (docs/security.md).
    if owner and not any(rule.matches(MAILMAP_NAME) for rule in out):
        out.append(ProtectedPaths((MAILMAP_NAME,), (owner,)))
    return out


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def parse_updates(text: str) -> list[RefUpdate]:
    updates = []
    for line in text.splitlines():
        parts = line.split()  # "<old> <new> <ref>": ref names cannot hold whitespace
        if len(parts) == 3:
            updates.append(RefUpdate(*parts))
    return updates


def check_push(
    git: Git, updates: list[RefUpdate], pusher_email: str | None = None
) -> list[Rejection]:
    """Everything wrong with a push (empty: accept it): each commit it adds, and the tree each
    branch ends up with, against the rules the branch had before the push."""
    if pusher_email is None:
        pusher_email = pusher(git.git_dir, os.environ).email
    found: list[Rejection] = []
    seen: set[str] = set()
    for update in updates:
        if update.new == ZERO:
            continue  # a deleted branch adds nothing
        config = _config_before(git, update)
        found.extend(_check_tag(git, update, config))
        pusher_org = config.org_for_email(pusher_email) if pusher_email else ""
        # The first push to an empty repository brings the rules with it: nothing was anyone's
        # to protect yet, so only the file rules apply to it. A repository with any branch is
        # not empty, whatever its HEAD names (git init --bare may point HEAD at a 'master'
        # that never exists while everyone pushes 'main').
        first = update.old == ZERO and default_branch(git) is None
        commits = git.out("rev-list", "--reverse", "--topo-order", update.new, "--not", "--all")
        for commit in commits.split():
            if commit not in seen:
                seen.add(commit)
                found.extend(check_commit(git, commit, config, pusher_org, protect=not first))
        if not first:
            found.extend(_check_result(git, update, config, pusher_org, commits.split(), found))
    return found


@dataclass(frozen=True)
class Pusher:
    """Who the server says pushed: ``email`` ('' when unknown) and, when it is unknown, why."""

    email: str
    problem: str = ""


def pusher(git_dir: Path, environ: Mapping[str, str]) -> Pusher:
    """The authenticated pusher, from what the server sets for its hooks (never from the
    commits, which the pusher writes)."""
    for variable in PUSHER_VARIABLES:
        if environ.get(variable):
            return Pusher(environ[variable].strip())
    for variable in USER_VARIABLES:
        user = environ.get(variable, "").strip()
        if user:
            email = pushers_map(git_dir).get(user, "")
            if email:
                return Pusher(email)
            return Pusher(
                "",
                f"the server says {user} pushed ({variable}), and {PUSHERS_FILE} gives no "
                "e-mail for them",
            )
    return Pusher("", "the server does not say who pushed (KBAPP_PUSHER_EMAIL is not set)")


def pushers_map(git_dir: Path) -> dict[str, str]:
    """``[pushers]`` of :data:`PUSHERS_FILE` in the bare repository: user name -> e-mail."""
    try:
        data = tomllib.loads((git_dir / PUSHERS_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    table = data.get("pushers")
    if not isinstance(table, dict):
        return {}
    return {str(user): str(email) for user, email in table.items() if isinstance(email, str)}


UNKNOWN_PUSHER_NOTE = (
    "kbapp: note: {problem}; protected paths are judged by the committer e-mail the commits "
    "claim, which the pusher writes. The server administrator can fix this: see "
    "docs/security.md, 'Who pushed'."
)


def _check_tag(git: Git, update: RefUpdate, config: KbConfig) -> list[Rejection]:
    """Secrets in the message of an annotated tag (a lightweight tag has none)."""
    if not update.ref.startswith("refs/tags/"):
        return []
    if git.out("cat-file", "-t", update.new).strip() != "tag":
        return []
    message = git.out("cat-file", "tag", update.new).partition("\n\n")[2]
    return [Rejection(update.new, v) for v in policy.check_tag_message(message, config)]


def default_branch(git: Git) -> str | None:
    """The commit of the repository's default branch before the push: HEAD's, else (HEAD
    names a branch that does not exist) ``main``'s, ``master``'s or the first branch's; None
    only when the repository has no branch at all (the pushed refs are not in place yet
    while a pre-receive hook runs)."""
    head = git.rev("HEAD")
    if head is not None:
        return head
    branches = git.out("for-each-ref", "--format=%(refname)", "refs/heads/").split()
    for preferred in ("refs/heads/main", "refs/heads/master"):
        if preferred in branches:
            return git.rev(preferred)
    return git.rev(branches[0]) if branches else None


def _config_before(git: Git, update: RefUpdate) -> KbConfig:
    """The rules the branch had before this push (the default branch's for a new branch; the
    pushed commit's own only for the very first push to an empty repository)."""
    default = default_branch(git)
    # Never the pushed commit's own rules while any branch exists: a push must not bring the
    # rules it is judged by.
    bases = [update.old, default] if default is not None else [update.old, update.new]
    for base in bases:
        if base and base != ZERO:
            config = _config_at(git, base)
            if config is not None:
                return config
    return KbConfig()


def _config_at(git: Git, commit: str) -> KbConfig | None:
    data = git.read_blob(f"{commit}:{CONFIG_PATH}")
    if data is None:
        return None
    try:
        return config_from_dict(tomllib.loads(data.decode("utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ConfigError):
        return None


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


def _commit_orgs(git: Git, commit: str, config: KbConfig) -> tuple[str, str, str, str]:
    """(committer e-mail, its organisation, the KB-Org trailer's, the message)."""
    header = git.out("show", "-s", "--format=%ce%x00%B", commit)
    email, _, body = header.partition("\0")
    trailers = _TRAILER_RE.findall(body)
    return email, config.org_for_email(email), trailers[-1] if trailers else "", body


def check_commit(
    git: Git, commit: str, config: KbConfig, pusher_org: str = "", protect: bool = True
) -> list[Rejection]:
    found: list[policy.Violation] = []
    email, email_org, trailer_org, body = _commit_orgs(git, commit, config)
    if trailer_org and email_org and trailer_org != email_org:
        found.append(
            policy.Violation(
                "(commit)",
                0,
                "identity",
                f"the commit says 'KB-Org: {trailer_org}' but its committer {email} belongs to "
                f"{email_org}",
            )
        )
    org = pusher_org or email_org or trailer_org
    parents = git.out("rev-list", "--parents", "-n", "1", commit).split()[1:]
    changes = _changed_paths(git, commit, parents)
    if protect:
        for path in sorted({p for change in changes for p in change.paths}):
            found.extend(_protected_path(path, config, {org}))
        found.extend(_settings_change(git, commit, parents[:1], changes, config, {org}))
    found.extend(policy.check_commit_message(body, config))
    found.extend(policy.check_commit_headers(_commit_headers(git, commit), config))
    found.extend(_check_contents(git, commit, parents[:1], changes, config))
    return [Rejection(commit, v) for v in found]


def protected_changes(paths: list[str], config: KbConfig, org: str) -> list[policy.Violation]:
    """What the hook would refuse when ``org`` changes ``paths``: the rule a client runs before
    it commits (case variants included; ``config``: the shared branch's rules)."""
    found: list[policy.Violation] = []
    for path in sorted(set(paths)):
        found.extend(_protected_path(path, config, {org}))
    return found


def _commit_headers(git: Git, commit: str) -> str:
    """The commit object's header lines as written (``git cat-file``), but the tree and
    parent ids: author, committer, encoding and any extra header a hand-made object has."""
    raw = git.run("cat-file", "commit", commit, strip=False).stdout.partition("\n\n")[0]
    return "\n".join(line for line in raw.split("\n") if not line.startswith(("tree ", "parent ")))


def _protected_path(path: str, config: KbConfig, orgs: set[str]) -> list[policy.Violation]:
    found = []
    for rule in protected_paths(config):
        strangers = sorted(o for o in orgs if o not in rule.orgs)
        if rule.matches(path) and (strangers or not orgs):
            allowed = ", ".join(rule.orgs) or "nobody"
            if not orgs:
                why = (
                    f"only {allowed} may change this path, and no commit of this push from "
                    "them changes it (a forced push or a merge that takes an old version?)"
                )
            else:
                who = (
                    f"organisation '{strangers[0]}'" if strangers[0] else "an unknown organisation"
                )
                why = f"only {allowed} may change this path; this change is from {who}"
            found.append(policy.Violation(path, 0, "protected-path", why))
            break
    return found


def _settings_change(
    git: Git,
    commit: str,
    bases: list[str],
    changes: list[_Change],
    config: KbConfig,
    orgs: set[str],
) -> list[policy.Violation]:
    """The knowledge base's sensitivity and owner are the owning organisation's to change,
    whatever the protected-path rules say."""
    if not any(fold_path(p) == CONFIG_PATH for c in changes for p in c.paths):
        return []
    before = _config_at(git, bases[0]) if bases else None
    after = _config_at(git, commit)
    if before is None or after is None:
        return []  # no settings before (a first commit), or broken ones (reported as such)
    owner = config.owner_org or before.owner_org
    if not owner or orgs == {owner}:
        return []
    found = []
    for name, old, new in (
        ("sensitivity", before.sensitivity, after.sensitivity),
        ("owner", before.owner_org, after.owner_org),
    ):
        if old != new:
            found.append(
                policy.Violation(
                    CONFIG_PATH,
                    1,
                    "protected-setting",
                    f"{name} changed from '{old}' to '{new}': only {owner} (the organisation that "
                    f"owns this knowledge base) may change it",
                )
            )
    return found


def _check_contents(
    git: Git,
    commit: str,
    bases: list[str],
    changes: list[_Change],
    config: KbConfig,
    skip: set[tuple[str, str]] | None = None,
) -> list[policy.Violation]:
    """The file rules (secrets on added lines, sensitivity, front matter, conflict markers,
    symbolic links) for the files of ``changes`` as ``commit`` has them."""
    found: list[policy.Violation] = []
    kept = [c for c in changes if c.status != "D"]
    added = _added_lines(git, commit, bases, [c.path for c in kept])
    for change in kept:
        path = change.path
        if change.mode in ("120000", "160000"):  # a file's are in its rules
            found.extend(policy.check_path(path) + policy.check_file_name(path, config))
        if change.mode == "120000":
            found.append(policy.Violation(path, 0, "symlink", policy.SYMLINK_MESSAGE))
            continue
        if change.mode == "160000":
            continue  # a submodule: a commit id, not a file
        data = git.read_blob(f"{commit}:{path}")
        if data is None:
            continue
        lines = added.get(path)
        if lines is None and change.status in "RC" and bases and change.same_content:
            lines = set()  # renamed or copied unchanged (same blob): git's patch has no hunk
        # Any other path whose added lines could not be told (a binary or UTF-16 file, also
        # one renamed in the same commit) is scanned in full (fail closed).
        found.extend(policy.check_commit_file(path, data, config, lines=lines))
    touched = [p for change in changes for p in change.paths]
    found.extend(tree_rules.check(git, commit, bases[0] if bases else None, touched, config))
    if skip:
        found = [v for v in found if (v.path, v.rule) not in skip]
    return found


def _check_result(
    git: Git,
    update: RefUpdate,
    config: KbConfig,
    pusher_org: str,
    commits: list[str],
    already: list[Rejection],
) -> list[Rejection]:
    """The branch's tree after the push against its tree before, whatever the commit graph
    between them: a hand-made merge that takes an old ``.kb/config.toml`` from its second
    parent, or a forced push back to an old commit, changes the result without any one commit
    seeming to. A protected path changed in the result must be changed by commits of allowed
    organisations only (or by an allowed pusher, when the server knows who pushed)."""
    base = _result_base(git, update)
    changes = _changed_paths(git, update.new, [base] if base else [])
    if not changes:
        return []
    orgs_of: dict[str, str] = {}
    touched: dict[str, set[str]] = {}
    for commit in commits:
        _email, email_org, trailer_org, _body = _commit_orgs(git, commit, config)
        orgs_of[commit] = pusher_org or email_org or trailer_org
        parents = git.out("rev-list", "--parents", "-n", "1", commit).split()[1:]
        for parent in parents or [""]:
            for change in _changed_paths(git, commit, [parent] if parent else []):
                for path in change.paths:
                    touched.setdefault(path, set()).add(commit)
    found: list[policy.Violation] = []
    for path in sorted({p for change in changes for p in change.paths}):
        orgs = {pusher_org} if pusher_org else {orgs_of[c] for c in touched.get(path, ())}
        found.extend(_protected_path(path, config, orgs))
    config_orgs = (
        {pusher_org}
        if pusher_org
        else {
            orgs_of[c] for path, by in touched.items() if fold_path(path) == CONFIG_PATH for c in by
        }
    )
    found.extend(
        _settings_change(
            git, update.new, [base] if base else [], changes, config, config_orgs or {""}
        )
    )
    reported = {(r.violation.path, r.violation.rule) for r in already}
    found.extend(
        _check_contents(git, update.new, [base] if base else [], changes, config, skip=reported)
    )
    known = {(r.violation.path, r.violation.rule, r.violation.line) for r in already}
    return [Rejection(update.new, v) for v in found if (v.path, v.rule, v.line) not in known]


def _result_base(git: Git, update: RefUpdate) -> str:
    """What the branch's new tree is compared with: its old tip; for a new branch, where it
    leaves the default branch ('' for the first push to an empty repository)."""
    if update.old != ZERO:
        return update.old
    head = default_branch(git)
    if head is None:
        return ""
    result = git.run("merge-base", head, update.new, check=False)
    return result.stdout.split()[0] if result.status == 0 and result.stdout else ""


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
        return {p: _all_lines(git.read_blob(f"{commit}:{p}")) for p in paths}
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


def report(rejections: list[Rejection]) -> str:
    lines = [f"kbapp: push rejected: {len(rejections)} problem(s) in the pushed commits"]
    lines += [f"  {terminal_safe(str(r))}" for r in rejections[:50]]
    if len(rejections) > 50:
        lines.append(f"  ... and {len(rejections) - 50} more")
    lines.append(
        "Fix them in new commits (or rewrite the commits), then push again. See docs/security.md."
    )
    return "\n".join(lines)
