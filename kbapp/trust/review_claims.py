"""A review is the reviewer's to record (adversarial finding A13).

A document's front matter says when it was last reviewed and by whom (``review.last_reviewed``,
``review.reviewed_by``); the review queue, the reader and the health report believe it. Anyone
can write those lines, so the server's hook refuses a commit that records a *new* review — a
(date, reviewer) pair that no parent of the commit has for that document — naming a reviewer of
another organisation than the one the change is from. kbapp's own ``review done`` records the
user's own e-mail, and its merge driver keeps the later review as a pair from one side, so
neither is ever refused; a reviewer whose e-mail matches no organisation is not judged.
"""

from __future__ import annotations

from typing import Any

from kbapp.config import KbConfig
from kbapp.documents import frontmatter
from kbapp.documents.filenames import is_markdown_name
from kbapp.errors import KbError
from kbapp.sync.git import Git
from kbapp.trust import policy
from kbapp.trust.commit_changes import _Change

Review = tuple[str, str]  # (last_reviewed, reviewed_by), as written


def check(
    git: Git, commit: str, parents: list[str], changes: list[_Change], config: KbConfig, org: str
) -> list[policy.Violation]:
    """The new reviews ``commit`` records that name a reviewer of another organisation than
    ``org`` (the pusher's, or the commit's own claim when the server does not say)."""
    if not org:
        return []
    kept = [
        c
        for c in changes
        if c.status != "D" and c.mode not in ("120000", "160000") and is_markdown_name(c.path)
    ]
    if not kept:
        return []
    specs = [f"{commit}:{c.path}" for c in kept]
    specs += [f"{parent}:{path}" for c in kept for parent in parents for path in c.paths]
    blobs = dict(zip(specs, git.read_blobs(specs)))
    found = []
    for change in kept:
        review = _review(blobs.get(f"{commit}:{change.path}"))
        if review is None:
            continue
        before = {
            _review(blobs.get(f"{parent}:{path}")) for parent in parents for path in change.paths
        }
        if review not in before:  # the document may have had another name before (a move)
            before |= _reviews_by_id(git, parents, blobs.get(f"{commit}:{change.path}"))
        if review in before:
            continue  # no new review: the same date and reviewer as before
        reviewer_org = config.org_for_email(review[1])
        if reviewer_org and reviewer_org != org:
            found.append(
                policy.Violation(
                    change.path,
                    0,
                    "review-claim",
                    f"records a review on {review[0] or 'no date'} by {review[1]} "
                    f"({reviewer_org}), but this change is from {org}: a review is recorded by "
                    "the reviewer (kbapp review done)",
                )
            )
    return found


def _reviews_by_id(git: Git, parents: list[str], data: bytes | None) -> set[Review | None]:
    """The reviews the parents record for the document with the ``id:`` of ``data``, under
    whatever name it had there (a merge of a document one side moved)."""
    meta = _meta(data)
    doc_id = str(meta.get("id") or "").strip() if meta else ""
    if not doc_id or not parents:
        return set()
    found = git.run(
        "grep", "-l", "-F", "-e", f"id: {doc_id}", *parents, check=False
    ).stdout.splitlines()
    # "<parent>:<path>"; only documents count (a text file of the push could carry the line)
    found = [spec for spec in found if is_markdown_name(spec.split(":", 1)[-1])]
    return {_review(blob) for blob in git.read_blobs(found)}


def _meta(data: bytes | None) -> dict[str, Any] | None:
    """The front matter of ``data``; None when it has none or it cannot be read (other rules
    report a broken front matter)."""
    if not data:
        return None
    try:
        block = frontmatter.find_block(data.decode("utf-8-sig"))
        return frontmatter.parse_block(block)[0] if block else None
    except (UnicodeDecodeError, KbError, ValueError):
        return None


def _review(data: bytes | None) -> Review | None:
    """The (date, reviewer) a document's front matter records; None when it records none or
    cannot be read (other rules report a broken front matter)."""
    meta = _meta(data)
    review = meta.get("review") if meta else None
    if not isinstance(review, dict):
        return None
    reviewer = str(review.get("reviewed_by") or "").strip()
    if not reviewer:
        return None
    return (str(review.get("last_reviewed") or ""), reviewer)
