"""Three-way merge of documents by meaning: kbapp's git merge driver and sync's conflict engine.

Git calls ``kbapp merge-driver %O %A %B %P`` (set up by ``.gitattributes``' ``*.md merge=kbapp``
and the clone's ``merge.kbapp.driver``; see docs/sync.md for partners on plain git) whenever
both sides changed a document. :func:`merge` then:

- merges the **front matter field by field**, each by the rule the document schema gives it
  (:class:`kbapp.documents.schema.Merge`): a field changed on one side only takes that
  side's value; lists changed on both sides become the union in order (mine first, then what
  theirs added), minus items either side removed; maps (``review``, ``handover``, custom
  blocks) merge key by key; ``review.last_reviewed`` takes the later date and
  ``review.reviewed_by`` follows it; ``status`` takes the more conservative value
  (retired > draft > in-review > published); ``handover.started`` takes the earlier date (both
  sides started the same handover); any other value changed differently on both sides is a
  conflict on that field. So RACI lists, ``escalation`` and handover ``steps`` are unions: a
  step recorded on each side is kept from both and never lost;
- merges the **body** with git's own three-way merge (``git merge-file``);
- writes the merged front matter into *mine*'s block, so its comments, key order and quoting
  survive (:func:`kbapp.documents.frontmatter.patch`).

The result carries three texts: ``text`` (what git gets: conflict markers where the sides still
disagree), and two complete marker-free candidates, ``mine`` and ``theirs``, that differ only
where the sides conflict. Sync commits ``mine`` provisionally and keeps ``theirs`` for the user
(see :mod:`kbapp.sync.conflicts`), so no marker is ever committed.

This module imports only the document layer, so the driver process git starts stays quick.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbapp.documents import model as documents
from kbapp.documents import schema
from kbapp.documents.schema import Merge
from kbapp.errors import KbError
from kbapp.fsutil import atomic_write
from kbapp.sync.git import merge_file

LABELS = ("mine", "base", "theirs")


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


@dataclass
class MergeResult:
    """A three-way merge of one file."""

    text: bytes  # with conflict markers where the sides disagree (for git and plain-git users)
    mine: bytes  # complete, no markers; where the sides disagree, mine wins
    theirs: bytes  # complete, no markers; where the sides disagree, theirs wins
    #: What still conflicts: front matter fields ("status", "review.interval_days") and/or "body".
    conflicts: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.conflicts


def merge(base: bytes | None, mine: bytes, theirs: bytes, path: str = "document.md") -> MergeResult:
    """Merge ``mine`` and ``theirs`` (both descended from ``base``; None when both added it)."""
    base_data = base or b""
    if mine == theirs or base_data == theirs:
        return MergeResult(mine, mine, mine)
    if _has_marker(theirs) and not _has_marker(mine) and not _has_marker(base_data):
        # A plain-git partner committed an unresolved conflict: merging it would carry its
        # markers into this side's commit. Keep mine and let the user compare the two.
        return MergeResult(mine, mine, theirs, ["conflict markers in their version"])
    if base_data == mine:
        return MergeResult(theirs, theirs, theirs)
    if not path.lower().endswith(".md"):
        return merge_text(base_data, mine, theirs)
    try:
        docs = [documents.parse(data, path) for data in (base_data, mine, theirs)]
    except KbError:  # binary, not UTF-8: git's own merge decides
        return merge_text(base_data, mine, theirs)
    if any(doc.front_matter_error is not None for doc in docs):
        return merge_text(base_data, mine, theirs)
    try:
        return _merge_documents(*docs)
    except KbError:  # a value the front matter writer cannot express: fall back to lines
        return merge_text(base_data, mine, theirs)


def _has_marker(data: bytes) -> bool:
    from kbapp.trust.policy import conflict_marker_line

    return b"<<<<<<<" in data and conflict_marker_line(data.decode("utf-8", "replace")) is not None


def merge_text(base: bytes, mine: bytes, theirs: bytes) -> MergeResult:
    """Line-based three-way merge (git merge-file) for what is not a readable document."""
    if b"\0" in base[:8000] + mine[:8000] + theirs[:8000]:
        return MergeResult(mine, mine, theirs, ["binary"])
    marked, count = merge_file(base, mine, theirs, labels=LABELS)
    if count == 0:
        return MergeResult(marked, marked, marked)
    mine_wins, _ = merge_file(base, mine, theirs, favor="ours")
    theirs_wins, _ = merge_file(base, mine, theirs, favor="theirs")
    return MergeResult(marked, mine_wins, theirs_wins, ["body"])


def _merge_documents(
    base: documents.Document, mine: documents.Document, theirs: documents.Document
) -> MergeResult:
    meta_mine, meta_theirs, conflicts = merge_meta(base.meta, mine.meta, theirs.meta)
    body_base, body_mine, body_theirs = (d.body.encode("utf-8") for d in (base, mine, theirs))
    marked_body, body_conflicts = merge_file(body_base, body_mine, body_theirs, labels=LABELS)
    if body_conflicts:
        conflicts.append("body")
        mine_body = merge_file(body_base, body_mine, body_theirs, favor="ours")[0].decode("utf-8")
        theirs_body = merge_file(body_base, body_mine, body_theirs, favor="theirs")[0].decode(
            "utf-8"
        )
    else:
        mine_body = theirs_body = marked_body.decode("utf-8")
    mine_data = _written(mine, meta_mine, mine_body)
    if not conflicts:
        return MergeResult(mine_data, mine_data, mine_data)
    theirs_data = _written(mine, meta_theirs, theirs_body)
    # The text for git: the three sides rewritten so that they differ only where they conflict,
    # then merged by lines, which puts markers exactly around the conflicting fields and lines.
    meta_base = copy.deepcopy(meta_mine)
    for name in conflicts:
        if name != "body":
            _set_dotted(meta_base, name, _get_dotted(base.meta, name))
    side_mine = _written(mine, meta_mine, mine.body)
    side_theirs = _written(mine, meta_theirs, theirs.body)
    side_base = _written(mine, meta_base, base.body)
    marked, _ = merge_file(side_base, side_mine, side_theirs, labels=LABELS)
    return MergeResult(marked, mine_data, theirs_data, conflicts)


def _written(template: documents.Document, meta: dict[str, Any], body: str) -> bytes:
    """``template`` (mine, as read) with ``meta`` and ``body``: only what changed is rewritten."""
    doc = copy.copy(template)
    doc.meta = copy.deepcopy(meta)
    doc.body = body
    return documents.serialise(doc)


# --------------------------------------------------------------------------- front matter


def merge_meta(
    base: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Merge front matter by meaning: ``(mine-wins, theirs-wins, conflicting field names)``."""
    return _merge_map("", base, mine, theirs)


def _merge_map(
    prefix: str, base: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    out_mine: dict[str, Any] = {}
    out_theirs: dict[str, Any] = {}
    conflicts: list[str] = []
    keys = list(mine) + [k for k in theirs if k not in mine]
    for key in keys:
        value_mine, value_theirs, found = _merge_field(
            prefix + str(key),
            base.get(key, MISSING),
            mine.get(key, MISSING),
            theirs.get(key, MISSING),
        )
        if value_mine is not MISSING:
            out_mine[key] = value_mine
        if value_theirs is not MISSING:
            out_theirs[key] = value_theirs
        conflicts.extend(found)
    for key in keys:
        name = prefix + str(key)
        if name in conflicts and schema.merge_rule(name) is Merge.FOLLOWS_REVIEW:
            # Whoever reviewed last is who reviewed it.
            later = _later_side(mine.get("last_reviewed"), theirs.get("last_reviewed"))
            if later is not None:
                winner = (mine if later == "mine" else theirs).get(key, MISSING)
                for out in (out_mine, out_theirs):
                    if winner is MISSING:
                        out.pop(key, None)
                    else:
                        out[key] = winner
                conflicts.remove(name)
    return out_mine, out_theirs, conflicts


def _merge_field(name: str, base: Any, mine: Any, theirs: Any) -> tuple[Any, Any, list[str]]:
    if _equal(mine, theirs) or _equal(base, theirs):
        return mine, mine, []
    if _equal(base, mine):
        return theirs, theirs, []
    # Changed differently on both sides.
    if isinstance(mine, dict) and isinstance(theirs, dict):
        return _merge_map(name + ".", base if isinstance(base, dict) else {}, mine, theirs)
    if isinstance(mine, list) and isinstance(theirs, list):
        merged = merge_lists(base if isinstance(base, list) else [], mine, theirs)
        return merged, merged, []
    rule = schema.merge_rule(name)
    if rule is Merge.LATER:
        later = _later_side(mine, theirs)
        if later is not None:
            value = mine if later == "mine" else theirs
            return value, value, []
    if rule is Merge.EARLIER:
        later = _later_side(mine, theirs)
        if later is not None and documents.as_date(mine) and documents.as_date(theirs):
            value = theirs if later == "mine" else mine
            return value, value, []
    rank = schema.STATUS_RANK
    if rule is Merge.CONSERVATIVE and mine in rank and theirs in rank:
        value = mine if rank[mine] >= rank[theirs] else theirs
        return value, value, []
    return mine, theirs, [name]


def merge_lists(base: list[Any], mine: list[Any], theirs: list[Any]) -> list[Any]:
    """Union keeping order (mine, then what theirs added); an item either side removed from
    ``base`` stays removed. Items may be any YAML value (compared by equality)."""
    removed = [item for item in base if not _contains(mine, item) or not _contains(theirs, item)]
    merged = list(mine) + [item for item in theirs if not _contains(mine, item)]
    out: list[Any] = []
    for item in merged:
        if _contains(removed, item):
            continue
        if _contains(out, item) and not _contains(mine, item):
            continue
        out.append(item)
    return out


def _contains(items: list[Any], value: Any) -> bool:
    return any(_equal(item, value) for item in items)


def _equal(a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return a is b
    return documents.deep_equal(a, b)


def _later_side(mine: Any, theirs: Any) -> str | None:
    date_mine, date_theirs = documents.as_date(mine), documents.as_date(theirs)
    if date_mine is None and date_theirs is None:
        return None
    if date_theirs is None or (date_mine is not None and date_mine >= date_theirs):
        return "mine"
    return "theirs"


def _get_dotted(meta: dict[str, Any], name: str) -> Any:
    value: Any = meta
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def _set_dotted(meta: dict[str, Any], name: str, value: Any) -> None:
    parts = name.split(".")
    target = meta
    for part in parts[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = {}
            target[part] = child
        target = child
    if value is MISSING:
        target.pop(parts[-1], None)
    else:
        target[parts[-1]] = value


# --------------------------------------------------------------------------- git's driver


def run_driver(base_path: str, mine_path: str, theirs_path: str, path: str = "") -> int:
    """``%O %A %B %P``: merge into ``%A``; 0 when clean, 1 when conflicts are left (marked)."""
    mine_file = Path(mine_path)
    try:
        base = Path(base_path).read_bytes()
        mine = mine_file.read_bytes()
        theirs = Path(theirs_path).read_bytes()
    except OSError as exc:
        print(f"kbapp merge-driver: {exc}", file=sys.stderr)
        return 2
    try:
        result = merge(base, mine, theirs, path or mine_path)
    except Exception as exc:  # noqa: BLE001 - never leave git without an answer: plain line merge instead
        print(f"kbapp merge-driver: {path}: {exc!r}; merged by lines", file=sys.stderr)
        result = merge_text(base, mine, theirs)
    try:
        # Atomic (temporary file, fsync, rename): git takes whatever %A holds as the merge, so
        # a write cut short by a full disk must leave the old %A, never a piece of the new one.
        atomic_write(mine_file, result.text)
    except KbError as exc:
        print(f"kbapp merge-driver: {path or mine_path}: {exc}", file=sys.stderr)
        return 2  # git records a conflict and keeps the three versions: nothing is lost
    if result.conflicts:
        print(
            f"kbapp merge-driver: {path or mine_path}: conflict in " + ", ".join(result.conflicts),
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (3, 4):
        print("usage: python -m kbapp.mergedriver %O %A %B [%P]", file=sys.stderr)
        return 2
    return run_driver(*args)


if __name__ == "__main__":
    sys.exit(main())
