"""Rules about the tree a commit leaves, not about one file in it: run by the server's hook
(:mod:`kbapp.trust.serverhook`, and so by sync before it pushes) on every pushed commit, and
by ``kbapp lint`` on the work tree.

- **One document per id.** An id is a document's identity (``kb:`` links, ``kbapp show ID``):
  a document that takes an id another path already has would shadow it, e.g. a partner's copy
  of a procedure protected for the internal team. A push that makes a new duplicate is
  refused; a duplicate from before the hook stays a lint error and blocks nothing.
- **No document hidden by a ``.gitignore``.** A shared ``.gitignore`` with ``*.md`` or
  ``runbooks/`` makes git ignore new documents (plain git users' ``git add`` refuses them;
  kbapp commits what it writes all the same). A ``.gitignore`` change that hides documents, or
  the new documents of a folder that holds documents, is refused; git itself decides what its
  rules match (``git check-ignore``). To keep a Markdown file out of the knowledge base, use
  ``exclude`` in ``.kb/config.toml``.

Only what a commit newly breaks is refused, so that nothing from before the hook blocks later
pushes: the rules run when a commit changes a ``.gitignore`` or a document, comparing its tree
with its first parent's.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kbapp.documents import model as documents
from kbapp.errors import KbError
from kbapp.sync.git import Git, IgnoreRule
from kbapp.trust.policy import Violation, is_document_path

if TYPE_CHECKING:
    from kbapp.config import KbConfig

GITIGNORE_NAME = ".gitignore"
#: The name a new document would have in a folder: asks git whether the folder hides them.
PROBE_NAME = "a-new-document.md"
_MAX_GITIGNORE = 1 << 20


def is_gitignore_path(path: str) -> bool:
    """Whether ``path`` is a ``.gitignore`` (at any depth, as a case-insensitive file system
    or NTFS reads the name)."""
    return path.rsplit("/", 1)[-1].rstrip(". ").casefold() == GITIGNORE_NAME


def check(
    git: Git, commit: str, base: str | None, touched: Iterable[str], config: KbConfig
) -> list[Violation]:
    """What ``commit`` newly breaks against ``base`` (its first parent, or where the branch
    was; None for a first commit): documents that take an id another path has, and
    ``.gitignore`` rules that hide documents. ``touched``: the paths the commit changes."""
    touched = list(touched)
    found = _duplicate_ids(git, commit, base, touched, config)
    if any(is_gitignore_path(p) for p in touched):
        found += _hiding_rules(git, commit, base, config)
    return found


# ---------------------------------------------------------------------------- ids


def _duplicate_ids(
    git: Git, commit: str, base: str | None, touched: list[str], config: KbConfig
) -> list[Violation]:
    ids: dict[str, tuple[str, int]] = {}  # path -> (id, line)
    for path in touched:
        if not is_document_path(path, config):
            continue
        found = _id_of(git, commit, path)
        if found is not None:
            ids[path] = found
    if not ids:
        return []
    wanted = sorted({doc_id for doc_id, _ in ids.values()})
    after = _paths_with_ids(git, commit, wanted, config)
    before = _paths_with_ids(git, base, wanted, config) if base else {}
    out = []
    for path, (doc_id, line) in sorted(ids.items()):
        others = sorted(p for p in after.get(doc_id, ()) if p != path)
        if others and path not in before.get(doc_id, ()):
            out.append(
                Violation(
                    path,
                    line,
                    "duplicate-id",
                    f"takes the id {doc_id} of {others[0]}: an id names one document (kb: links "
                    "and 'kbapp show ID' open it), so this would shadow that one; give this "
                    "document an id of its own",
                )
            )
    return out


def _id_of(git: Git, rev: str, path: str) -> tuple[str, int] | None:
    data = git.read_blob(f"{rev}:{path}")
    if data is None:
        return None
    try:
        doc = documents.parse(data, path)
    except KbError:
        return None
    doc_id = doc.meta.get("id") if doc.front_matter_error is None else None
    if not isinstance(doc_id, str) or not doc_id:
        return None
    return doc_id, doc.field_lines.get("id", 1)


def _paths_with_ids(git: Git, rev: str, ids: list[str], config: KbConfig) -> dict[str, set[str]]:
    """id -> the document paths of ``rev`` whose front matter has it (``git grep`` finds the
    candidates, the front matter decides)."""
    args = ["-c", "core.quotepath=off", "grep", "-l", "-z", "-F", "--full-name", "--no-color"]
    for doc_id in ids:
        args += ["-e", doc_id]
    listed = git.run(*args, rev, "--", "*.md", check=False, strip=False).stdout
    out: dict[str, set[str]] = {}
    prefix = f"{rev}:"
    for item in listed.split("\0"):
        path = item.removeprefix(prefix)
        if not path or not is_document_path(path, config):
            continue
        found = _id_of(git, rev, path)
        if found is not None and found[0] in ids:
            out.setdefault(found[0], set()).add(path)
    return out


# ---------------------------------------------------------------------------- .gitignore


def _hiding_rules(git: Git, commit: str, base: str | None, config: KbConfig) -> list[Violation]:
    paths = _documents_and_probes(_tree_files(git, commit), config)
    now = _ignored_in_tree(git, commit, paths)
    before = _ignored_in_tree(git, base, paths) if base else {}
    return hiding_violations({p: r for p, r in now.items() if p not in before})


def hiding_violations(hidden: dict[str, IgnoreRule]) -> list[Violation]:
    """One violation per rule that hides documents (``hidden``: path -> rule), on the rule's
    file and line, naming what it hides."""
    by_rule: dict[IgnoreRule, list[str]] = {}
    for path, rule in sorted(hidden.items(), key=lambda item: (_is_probe(item[0]), item[0])):
        by_rule.setdefault(rule, []).append(path)
    out = []
    for rule, paths in sorted(by_rule.items(), key=lambda item: (item[0].source, item[0].line)):
        shown = [_shown(p) for p in paths[:3]]
        more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
        out.append(
            Violation(
                rule.source,
                rule.line,
                "gitignore",
                f"'{rule.pattern}' hides documents from git ({', '.join(shown)}{more}): plain "
                "git would not add them (kbapp commits them all the same); remove or narrow "
                "the rule (to keep a Markdown file out of the knowledge base, use 'exclude' in "
                ".kb/config.toml)",
            )
        )
    return out


def _is_probe(path: str) -> bool:
    return path.rpartition("/")[2] == PROBE_NAME


def _shown(path: str) -> str:
    folder, _, name = path.rpartition("/")
    if name == PROBE_NAME:
        return f"new documents in {folder}/" if folder else "new documents at the top"
    return path


def documents_and_probes(paths: Iterable[str], config: KbConfig) -> list[str]:
    """The documents among ``paths``, and a new document's name in each folder holding one
    (and at the top, and in each document type's folder)."""
    return _documents_and_probes(list(paths), config)


def _documents_and_probes(paths: list[str], config: KbConfig) -> list[str]:
    docs = [p for p in paths if is_document_path(p, config)]
    folders = {""} | {p.rpartition("/")[0] for p in docs} | set(config.folders.values())
    probes = [f"{f.strip('/')}/{PROBE_NAME}".lstrip("/") for f in folders]
    return sorted(set(docs) | {p for p in probes if is_document_path(p, config)})


def _tree_files(git: Git, rev: str) -> list[str]:
    out = git.run(
        "-c",
        "core.quotepath=off",
        "ls-tree",
        "-r",
        "-z",
        "--name-only",
        rev,
        check=False,
        strip=False,
    ).stdout
    return [p for p in out.split("\0") if p]


def _ignored_in_tree(git: Git, rev: str, paths: list[str]) -> dict[str, IgnoreRule]:
    """Which of ``paths`` the ``.gitignore`` files of ``rev``'s tree hide, as git decides it
    (the files are written into a temporary folder that git reads as the work tree: a bare
    repository has none); the answer names them by their path in the tree."""
    listing = git.run(
        "-c",
        "core.quotepath=off",
        "ls-tree",
        "-r",
        "-z",
        "--full-tree",
        rev,
        check=False,
        strip=False,
    ).stdout
    files: dict[str, str] = {}  # folder (as written) -> the tree's name of its .gitignore
    with tempfile.TemporaryDirectory(prefix="kbapp-ignore-") as folder:
        root = Path(folder)
        for record in listing.split("\0"):
            info, tab, name = record.partition("\t")
            fields = info.split()
            if not (tab and len(fields) == 3 and fields[1] == "blob" and is_gitignore_path(name)):
                continue
            parts = PurePosixPath(name).parts[:-1]
            if any(p in ("", ".", "..") or p.casefold().rstrip(". ") == ".git" for p in parts):
                continue  # git would not check such a path out either
            data = git.read_blob(fields[2]) or b""
            target = root.joinpath(*parts, GITIGNORE_NAME)
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("ab") as out:  # '.GITIGNORE', '.gitignore': one file on Windows
                out.write(data[:_MAX_GITIGNORE] + b"\n")
            files["/".join(parts)] = name
        if not files:
            return {}
        found = git.ignored(paths, work_tree=root)
    return {
        path: IgnoreRule(
            files.get(rule.source.rpartition("/")[0], rule.source), rule.line, rule.pattern
        )
        for path, rule in found.items()
    }
