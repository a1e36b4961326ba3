"""What a push does to refs, before any commit is judged: which refs may be pushed at all
(branches and tags), what each annotated tag in a chain holds, and which branches a push may
not delete. Used by :mod:`kbapp.trust.serverhook`."""

from __future__ import annotations

from dataclasses import dataclass

from kbapp.config import KbConfig
from kbapp.sync.git import Git
from kbapp.trust import object_rules, policy

ZERO = "0" * 40


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


def parse_updates(text: str) -> list[RefUpdate]:
    updates = []
    for line in text.splitlines():
        parts = line.split()  # "<old> <new> <ref>": ref names cannot hold whitespace
        if len(parts) == 3:
            updates.append(RefUpdate(*parts))
    return updates


#: The only refs a push may create, move or delete: branches and tags. Everything else is
#: refused: ``refs/replace/`` (git would read one object in place of another, so the hook could
#: be shown a clean commit while clones get the pushed one), ``refs/notes/`` (text plain
#: ``git log`` shows under each commit, never checked), kbapp's own ``refs/kbapp/`` (local to
#: each clone) and any other name.
PUSHABLE_REFS = ("refs/heads/", "refs/tags/")


def _check_ref_name(update: RefUpdate) -> list[Rejection]:
    """Only branches and tags may be pushed (see :data:`PUSHABLE_REFS`)."""
    if update.ref.startswith(PUSHABLE_REFS):
        return []
    if update.ref.startswith("refs/replace/"):
        why = (
            "a replace ref makes git read one object in place of another (the server would "
            "check a different commit than the one every clone gets)"
        )
    elif update.ref.startswith("refs/notes/"):
        why = "notes are shown by 'git log' under each commit and are not checked by kbapp"
    else:
        why = "the shared repository keeps branches and tags only"
    return [
        Rejection(
            update.new if update.new != ZERO else update.old,
            policy.Violation(
                update.ref,
                0,
                "ref-namespace",
                f"only branches (refs/heads/...) and tags (refs/tags/...) may be pushed: {why}",
            ),
        )
    ]


def _check_tags(git: Git, update: RefUpdate, config: KbConfig) -> tuple[list[Rejection], str, str]:
    """Each annotated tag the ref names, judged whole (a tag of a tag of ... : every one of
    them), and the (id, type) the chain ends at. A lightweight tag is no object: what it
    names is judged like any pushed commit, blob or tree."""
    found: list[Rejection] = []
    oid = update.new
    kind = git.out("cat-file", "-t", oid)
    for _ in range(_MAX_TAG_CHAIN):
        if kind != "tag":
            break
        raw = object_rules.read_object(git, "tag", oid)
        found.extend(Rejection(oid, v) for v in object_rules.check_object("tag", raw, config))
        oid = object_rules.tag_target(raw)[0]
        kind = git.out("cat-file", "-t", oid) if oid else ""
    if kind == "tag":
        found.append(
            Rejection(
                update.new,
                policy.Violation(
                    update.ref, 0, "tag", f"a chain of more than {_MAX_TAG_CHAIN} tags; push fewer"
                ),
            )
        )
    return found, oid, kind


_MAX_TAG_CHAIN = 20


def _check_deletion(git: Git, update: RefUpdate, updates: list[RefUpdate]) -> list[Rejection]:
    """The shared branch (HEAD's, ``main``, ``master``) and the last branch are never deleted
    by a push: the next push to a repository without branches would bring its own rules
    (adversarial finding N5). A server's administrator can still delete them there."""
    if not update.ref.startswith("refs/heads/"):
        return []
    branches = git.out("for-each-ref", "--format=%(refname)", "refs/heads/").split()
    deleted = {u.ref for u in updates if u.new == ZERO}
    head = git.run("symbolic-ref", "-q", "HEAD", check=False).stdout.strip()
    shared = update.ref in (head, "refs/heads/main", "refs/heads/master")
    if not shared and any(b not in deleted for b in branches):
        return []
    return [
        Rejection(
            update.old,
            policy.Violation(
                update.ref,
                0,
                "delete-branch",
                "the shared branch (or the last one) cannot be deleted by a push; the server's "
                "administrator can delete it there",
            ),
        )
    ]


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
