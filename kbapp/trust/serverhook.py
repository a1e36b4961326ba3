"""The shared remote's own policy: a ``pre-receive`` hook that refuses bad pushes.

The client's checks protect honest users from mistakes; a partner on plain git, an old kbapp or
a hand-made commit never runs them. So the bare repository both organisations push to runs
``kbapp server-hook pre-receive`` and rejects a push when any new commit

- adds a line that looks like a secret (only added lines count: history is what it is),
- adds or changes a document marked ``internal`` in a ``shared`` knowledge base,
- holds a conflict marker, or front matter that is unreadable or has invalid core fields,
- breaks ``.kb/config.toml``, or gives Markdown documents attributes that break kbapp in
  ``.gitattributes``,
- changes a path protected for one organisation, when the commit comes from another;

and when any commit or annotated tag object it brings holds a secret in a header line or its
message, or an ``encoding`` other than UTF-8 (:mod:`kbapp.trust.object_rules`; a tag of a tag:
each one; a tag of a blob or tree: its content, with the file rules).

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
import tomllib

from kbapp.config import CONFIG_PATH, KbConfig, config_from_dict
from kbapp.errors import ConfigError
from kbapp.interaction import terminal_safe
from kbapp.sync.git import Git
from kbapp.trust import object_rules, policy, review_claims, tree_rules
from kbapp.trust.commit_changes import _added_lines, _Change, _changed_paths
from kbapp.trust.protection import (
    MAILMAP_NAME,
    TEMPLATES_PATTERN,
    TEMPLATES_PROBE,
    ProtectedPaths,
    _protected_path,
    fold_path,
    protected_changes,
    protected_paths,
)
from kbapp.trust.pushers import (
    PUSHER_VARIABLES,
    PUSHERS_FILE,
    UNKNOWN_PUSHER_NOTE,
    UNPLACED_PUSHER_NOTE,
    USER_VARIABLES,
    PushedBy,
    Pusher,
    _commit_claims,
    _pusher_claims,
    pusher,
    pushers_map,
)
from kbapp.trust.ref_rules import (
    ZERO,
    RefUpdate,
    Rejection,
    _check_deletion,
    _check_ref_name,
    _check_tags,
    default_branch,
    parse_updates,
)

__all__ = [
    "MAILMAP_NAME",
    "PUSHERS_FILE",
    "PUSHER_VARIABLES",
    "SUBMODULE_MESSAGE",
    "TEMPLATES_PATTERN",
    "TEMPLATES_PROBE",
    "UNKNOWN_PUSHER_NOTE",
    "UNPLACED_PUSHER_NOTE",
    "USER_VARIABLES",
    "ZERO",
    "ProtectedPaths",
    "PushedBy",
    "Pusher",
    "RefUpdate",
    "Rejection",
    "check_commit",
    "check_push",
    "default_branch",
    "fold_path",
    "parse_updates",
    "protected_changes",
    "protected_paths",
    "pusher",
    "pushers_map",
    "report",
]

#: A submodule entry (a gitlink, mode 160000) is a commit id of another repository at a path:
#: kbapp never uses one, and one put where a document was leaves every clone with an edit of
#: that document a folder where its file was (adversarial finding A8).
SUBMODULE_MESSAGE = (
    "a submodule (a link to a commit of another repository) cannot be part of the knowledge "
    "base; remove it (git rm --cached PATH) and commit the files themselves"
)


def check_push(
    git: Git, updates: list[RefUpdate], pusher_email: Pusher | str | None = None
) -> list[Rejection]:
    """Everything wrong with a push (empty: accept it): each commit it adds, and the tree each
    branch ends up with, against the rules the branch had before the push. ``pusher_email``:
    who the server says pushed (a :class:`Pusher`, or an e-mail given by
    ``KBAPP_PUSHER_EMAIL``); None reads it from the environment."""
    if pusher_email is None:
        who = pusher(git.git_dir, os.environ)
    elif isinstance(pusher_email, str):
        said = f"{pusher_email} (KBAPP_PUSHER_EMAIL)" if pusher_email else ""
        who = Pusher(pusher_email, said=said)
    else:
        who = pusher_email
    found: list[Rejection] = []
    seen: set[str] = set()
    for update in updates:
        refused_ref = _check_ref_name(update)
        if refused_ref:
            found.extend(refused_ref)
            continue
        if update.new == ZERO:  # a deletion adds nothing, but must not empty the repository
            found.extend(_check_deletion(git, update, updates))
            continue
        config = _config_before(git, update)
        found.extend(
            Rejection(update.new, v) for v in object_rules.check_ref_name(update.ref, config)
        )
        tags, target, kind = _check_tags(git, update, config)
        found.extend(tags)
        if kind != "commit":  # a tag of a blob or a tree (or a branch naming one)
            found.extend(_check_loose_target(git, update, target, kind, config))
            continue
        pushed_by = PushedBy.place(who, config)
        # The first push to an empty repository brings the rules with it: nothing was anyone's
        # to protect yet, so only the file rules apply to it. A repository with any branch is
        # not empty, whatever its HEAD names (git init --bare may point HEAD at a 'master'
        # that never exists while everyone pushes 'main').
        first = update.old == ZERO and default_branch(git) is None
        commits = git.out("rev-list", "--reverse", "--topo-order", update.new, "--not", "--all")
        for commit in commits.split():
            if commit not in seen:
                seen.add(commit)
                found.extend(check_commit(git, commit, config, pushed_by, protect=not first))
        if not first:
            found.extend(_check_result(git, update, config, pushed_by, commits.split(), found))
    return found


def _check_loose_target(
    git: Git, update: RefUpdate, target: str, kind: str, config: KbConfig
) -> list[Rejection]:
    """What a ref naming a blob or a tree brings, outside any commit: a branch must name a
    commit; a tag's blob or tree is judged whole, with the file rules every commit gets."""
    if not update.ref.startswith("refs/tags/"):
        return [
            Rejection(
                update.new,
                policy.Violation(
                    update.ref,
                    0,
                    "ref-target",
                    f"names a {kind or 'missing object'}, not a commit; only tags may name "
                    "other objects",
                ),
            )
        ]
    if kind == "blob":
        data = git.read_blob(target) or b""
        violations = policy.check_file(update.ref, data, config, front_matter=True)
    elif kind == "tree":
        violations = _check_contents(git, target, [], _changed_paths(git, target, []), config)
    else:
        violations = [
            policy.Violation(update.ref, 0, "ref-target", f"names a {kind or 'missing object'}")
        ]
    return [Rejection(target, v) for v in violations]


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


def check_commit(
    git: Git,
    commit: str,
    config: KbConfig,
    pushed_by: PushedBy | None = None,
    protect: bool = True,
) -> list[Rejection]:
    """Everything wrong with one commit the push adds. ``pushed_by``: who the server says
    pushed (None: it does not say, and the commit's own claims count); ``protect``: the
    rules of who may change what apply (not to the first push of an empty repository)."""
    found: list[policy.Violation] = []
    claims = _commit_claims(git, commit, config)
    email_org = claims.committer_org
    for trailer_org in claims.trailers:
        if email_org and trailer_org != email_org:
            found.append(
                policy.Violation(
                    "(commit)",
                    0,
                    "identity",
                    f"the commit says 'KB-Org: {trailer_org}' but its committer "
                    f"{claims.committer} belongs to {email_org}",
                )
            )
            break
    if pushed_by is not None and protect:
        found.extend(_pusher_claims(claims, pushed_by))
    org = pushed_by.org if pushed_by is not None else claims.org
    unplaced = pushed_by.unplaced if pushed_by is not None else ""
    parents = git.out("rev-list", "--parents", "-n", "1", commit).split()[1:]
    changes = _changed_paths(git, commit, parents)
    if protect:
        for path in sorted({p for change in changes for p in change.paths}):
            found.extend(_protected_path(path, config, {org}, unplaced))
        found.extend(_settings_change(git, commit, parents[:1], changes, config, {org}))
        found.extend(review_claims.check(git, commit, parents, changes, config, org))
    found.extend(
        object_rules.check_object("commit", object_rules.read_object(git, "commit", commit), config)
    )
    found.extend(_check_contents(git, commit, parents[:1], changes, config))
    return [Rejection(commit, v) for v in found]


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
    files = [c.path for c in kept if c.mode not in ("120000", "160000")]
    contents = dict(zip(files, git.read_blobs([f"{commit}:{path}" for path in files])))
    for change in kept:
        path = change.path
        if change.mode in ("120000", "160000"):  # a file's are in its rules
            found.extend(policy.check_path(path) + policy.check_file_name(path, config))
        if change.mode == "120000":
            found.append(policy.Violation(path, 0, "symlink", policy.SYMLINK_MESSAGE))
            continue
        if change.mode == "160000":
            found.append(policy.Violation(path, 0, "submodule", SUBMODULE_MESSAGE))
            continue  # a submodule: a commit id, not a file
        data = contents.get(path)
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
    pushed_by: PushedBy | None,
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
        orgs_of[commit] = _commit_claims(git, commit, config).org
        parents = git.out("rev-list", "--parents", "-n", "1", commit).split()[1:]
        for parent in parents or [""]:
            for change in _changed_paths(git, commit, [parent] if parent else []):
                for path in change.paths:
                    touched.setdefault(path, set()).add(commit)
    found: list[policy.Violation] = []
    unplaced = pushed_by.unplaced if pushed_by is not None else ""
    for path in sorted({p for change in changes for p in change.paths}):
        orgs = (
            {pushed_by.org}
            if pushed_by is not None
            else {orgs_of[c] for c in touched.get(path, ())}
        )
        found.extend(_protected_path(path, config, orgs, unplaced))
    config_orgs = (
        {pushed_by.org}
        if pushed_by is not None
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


def report(rejections: list[Rejection]) -> str:
    lines = [f"kbapp: push rejected: {len(rejections)} problem(s) in the pushed commits and tags"]
    lines += [f"  {terminal_safe(str(r))}" for r in rejections[:50]]
    if len(rejections) > 50:
        lines.append(f"  ... and {len(rejections) - 50} more")
    lines.append(
        "Fix them in new commits (or rewrite the commits), then push again. See docs/security.md."
    )
    return "\n".join(lines)
