"""Rules about the tree a commit leaves, not about one file in it: run by the server's hook
(:mod:`kbapp.trust.serverhook`, and so by sync before it pushes) on every pushed commit, and
by ``kbapp lint`` on the work tree.

- **One document per id.** An id is a document's identity (``kb:`` links, ``kbapp show ID``):
  a document that takes an id another path already has would shadow it, e.g. a partner's copy
  of a procedure protected for the internal team. A document's id is the one the catalog
  knows it by (:attr:`~kbapp.documents.model.Document.id`): its ``id:`` line or, without one,
  the id derived from its path, which anyone can compute. A push that makes a new duplicate is
  refused; a duplicate from before the hook stays a lint error and blocks nothing.
- **No document hidden by a ``.gitignore``.** A shared ``.gitignore`` with ``*.md`` or
  ``runbooks/`` makes git ignore new documents (plain git users' ``git add`` refuses them;
  kbapp lists and commits documents whatever the rules say, so this is defence in depth). A
  ``.gitignore`` change that hides a Markdown file of the tree, or the new documents of a
  folder that holds documents (a probe name there, and one a folder deeper with a digit), is
  refused; git itself decides what its rules match (``git check-ignore``, over the whole
  files, case-sensitively and as ``core.ignorecase=true`` clones do), and a rules file over
  :data:`MAX_RULES_FILE` is refused when changed. To keep a Markdown file out of the
  knowledge base, use ``exclude`` in ``.kb/config.toml``.

- **Attributes as git applies them.** :func:`kbapp.trust.policy.check_gitattributes` reads
  one ``.gitattributes`` at a time; git takes macros from the top-level file for every file,
  so ``[attr]x working-tree-encoding=UTF-16`` at the top and ``*.md x`` in a folder's file
  break that folder's documents. ``git check-attr`` says what each document (and a new one
  in each folder) gets from all of them together.

Only what a commit newly breaks is refused, so that nothing from before the hook blocks later
pushes: the rules run when a commit changes a ``.gitignore``, a ``.gitattributes`` or a
document, comparing its tree with its first parent's.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kbapp.documents import model as documents
from kbapp.documents.filenames import MARKDOWN_PATHSPECS
from kbapp.errors import KbError
from kbapp.sync.git import Git, IgnoreRule

# the attributes policy.check_gitattributes names, judged here as git applies them
from kbapp.trust.policy import _BREAKING_ATTRIBUTES as BREAKING_ATTRIBUTES
from kbapp.trust.policy import (
    GITATTRIBUTES_NAME,
    Violation,
    check_gitattributes,
    check_path,
    is_gitattributes_path,
    is_markdown_path,
)

if TYPE_CHECKING:
    from kbapp.config import KbConfig

GITIGNORE_NAME = ".gitignore"
#: The name a new document would have in a folder: asks git whether the folder hides them.
PROBE_NAME = "a-new-document.md"
#: A new document one folder further down with a digit in its name: rules such as ``*/*/`` or
#: ``*[0-9]*.md`` that match no document yet still hide the next one written.
DEEP_PROBE = "new-folder/new-document-2.md"
#: A ``.gitignore`` or ``.gitattributes`` larger than this is refused when a commit changes
#: it: the rules are judged whole (git reads them whole), and no real one is this big.
MAX_RULES_FILE = 1 << 20


def is_gitignore_path(path: str) -> bool:
    """Whether ``path`` is a ``.gitignore`` (at any depth, as a case-insensitive file system
    or NTFS reads the name)."""
    return path.rsplit("/", 1)[-1].rstrip(". ").casefold() == GITIGNORE_NAME


def check(
    git: Git, commit: str, base: str | None, touched: Iterable[str], config: KbConfig
) -> list[Violation]:
    """What ``commit`` newly breaks against ``base`` (its first parent, or where the branch
    was; None for a first commit): documents that take an id another path has,
    ``.gitignore`` rules that hide documents, attributes that break them. ``touched``: the
    paths the commit changes (both names of a rename)."""
    touched = list(touched)
    found = _duplicate_ids(git, commit, base, touched, config) + _oversized_rules(
        git, commit, touched
    )
    if any(is_gitignore_path(p) for p in touched):
        found += _hiding_rules(git, commit, base, config)
    changed_attributes = [p for p in touched if is_gitattributes_path(p)]
    if changed_attributes:
        found += _breaking_attributes(git, commit, base, changed_attributes, config)
    return found


# ---------------------------------------------------------------------------- ids


def _duplicate_ids(
    git: Git, commit: str, base: str | None, touched: list[str], config: KbConfig
) -> list[Violation]:
    ids: dict[str, tuple[str, int]] = {}  # path -> (id, line)
    for path in touched:
        if not _is_document(path, config):
            continue
        found = _id_of(git, commit, path)
        if found is not None:
            ids[path] = found
    if not ids:
        return []
    wanted = sorted({doc_id for doc_id, _ in ids.values()})
    after = _paths_with_ids(git, commit, wanted, config)
    # Before: the base and, for a merge, every parent: a clash that two histories each had
    # on their own (both organisations moved the same document) is not one this commit brings.
    before: dict[str, set[str]] = {}
    for rev in _parents_and_base(git, commit, base):
        for doc_id, paths in _paths_with_ids(git, rev, wanted, config).items():
            before.setdefault(doc_id, set()).update(paths)
    out = []
    for path, (doc_id, line) in sorted(ids.items()):
        others = sorted(p for p in after.get(doc_id, ()) if p != path)
        if others and path not in before.get(doc_id, ()):
            derived = (
                " (derived from its path: it has no id: line)"
                if documents.derived_id(others[0]) == doc_id
                else ""
            )
            out.append(
                Violation(
                    path,
                    line,
                    "duplicate-id",
                    f"takes the id {doc_id} of {others[0]}{derived}: an id names one document "
                    "(kb: links and 'kbapp show ID' open it), so this would shadow that one; "
                    "give this document an id of its own",
                )
            )
    return out


def _is_document(path: str, config: KbConfig) -> bool:
    """A Markdown file of the tree with a name every clone can have (the document rules
    apply to every Markdown extension; a name the path rule refuses is never a document)."""
    return is_markdown_path(path, config) and not check_path(path)


def _parents_and_base(git: Git, commit: str, base: str | None) -> list[str]:
    parents = git.run("rev-parse", f"{commit}^@", check=False).stdout.split()
    return sorted({*parents, *([base] if base else [])})


def _id_of(git: Git, rev: str, path: str) -> tuple[str, int] | None:
    """The id ``path`` is known by in ``rev`` (None: no such file), as the catalog knows it:
    :attr:`Document.id`, the written ``id:`` or, without one, the id derived from the path
    (an unreadable document is known by the derived one too). The line: the ``id:`` line, or
    0 for a derived id (the path gives it)."""
    data = git.read_blob(f"{rev}:{path}")
    if data is None:
        return None
    try:
        doc = documents.parse(data, path)
    except KbError:
        return documents.derived_id(path), 0
    return doc.id, doc.field_lines.get("id", 0)


def _paths_with_ids(git: Git, rev: str, ids: list[str], config: KbConfig) -> dict[str, set[str]]:
    """id -> the document paths of ``rev`` known by it: documents whose front matter writes
    it (``git grep`` finds the candidates) and documents whose path derives it; each one's
    id as :func:`_id_of` reads it decides."""
    args = ["-c", "core.quotepath=off", "grep", "-l", "-z", "-F", "--full-name", "--no-color"]
    for doc_id in ids:
        args += ["-e", doc_id]
    listed = git.run(*args, rev, "--", *MARKDOWN_PATHSPECS, check=False, strip=False).stdout
    prefix = f"{rev}:"
    candidates = {item.removeprefix(prefix) for item in listed.split("\0")}
    wanted = set(ids)
    candidates |= {
        p
        for p in _tree_files(git, rev)
        if _is_document(p, config) and documents.derived_id(p) in wanted
    }
    out: dict[str, set[str]] = {}
    for path in sorted(candidates):
        if not path or not _is_document(path, config):
            continue
        found = _id_of(git, rev, path)
        if found is not None and found[0] in wanted:
            out.setdefault(found[0], set()).add(path)
    return out


# ---------------------------------------------------------------------------- .gitignore


def _oversized_rules(git: Git, commit: str, touched: list[str]) -> list[Violation]:
    out = []
    for path in touched:
        if not (is_gitignore_path(path) or is_gitattributes_path(path)):
            continue
        size = git.run("cat-file", "-s", f"{commit}:{path}", check=False).stdout.strip()
        if size.isdigit() and int(size) > MAX_RULES_FILE:
            out.append(
                Violation(
                    path,
                    0,
                    "rules-file",
                    f"is {int(size) // 1024} KB; a .gitignore or .gitattributes larger than "
                    f"{MAX_RULES_FILE // 1024} KB is not accepted (the rules are judged whole, "
                    "as git reads them, and no real one is this big); shorten it",
                )
            )
    return out


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
        # the documents and folders first, then one deeper new document for all of them
        named = [_shown(p) for p in paths if not _is_deep_probe(p)]
        deep = [p for p in paths if _is_deep_probe(p)]
        shown = named[:3]
        if deep and len(shown) < 3:
            shown.append(f"new documents such as {deep[0]}")
        more = f" and {len(named) - 3} more" if len(named) > 3 else ""
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
    return path.rpartition("/")[2] == PROBE_NAME or _is_deep_probe(path)


def _is_deep_probe(path: str) -> bool:
    return path == DEEP_PROBE or path.endswith(f"/{DEEP_PROBE}")


def _shown(path: str) -> str:
    folder, _, name = path.rpartition("/")
    if name == PROBE_NAME:
        return f"new documents in {folder}/" if folder else "new documents at the top"
    return path


def documents_and_probes(paths: Iterable[str], config: KbConfig) -> list[str]:
    """The documents among ``paths``, and a new document's name in each folder holding one
    or a ``.gitignore``/``.gitattributes`` (and at the top, and in each type's folder)."""
    return _documents_and_probes(list(paths), config)


def _documents_and_probes(paths: list[str], config: KbConfig) -> list[str]:
    docs = [p for p in paths if is_markdown_path(p, config)]
    rule_files = [p for p in paths if is_gitignore_path(p) or is_gitattributes_path(p)]
    folders = (
        {""} | {p.rpartition("/")[0] for p in docs + rule_files} | set(config.folders.values())
    )
    probes = [
        f"{f.strip('/')}/{name}".lstrip("/") for f in folders for name in (PROBE_NAME, DEEP_PROBE)
    ]
    return sorted(set(docs) | {p for p in probes if is_markdown_path(p, config)})


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
    """Which of ``paths`` the ``.gitignore`` files of ``rev``'s tree hide, as git decides it;
    the answer names them by their path in the tree."""
    with tempfile.TemporaryDirectory(prefix="kbapp-ignore-") as folder:
        root = Path(folder)
        files = _write_tree_files(git, rev, root, is_gitignore_path, GITIGNORE_NAME)
        if not files:
            return {}
        found = git.ignored(paths, work_tree=root)
    return {
        path: IgnoreRule(
            files.get(rule.source.rpartition("/")[0], rule.source), rule.line, rule.pattern
        )
        for path, rule in found.items()
    }


def _write_tree_files(
    git: Git, rev: str, root: Path, wanted: Callable[[str], bool], written_as: str
) -> dict[str, str]:
    """Write the files of ``rev``'s tree that ``wanted`` names (``.gitignore`` or
    ``.gitattributes`` at any depth, any case) into ``root`` as ``written_as``, for git to
    read as a work tree's (a bare repository has none); folder -> the file's name in the
    tree."""
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
    files: dict[str, str] = {}
    for record in listing.split("\0"):
        info, tab, name = record.partition("\t")
        fields = info.split()
        if not (tab and len(fields) == 3 and fields[1] == "blob" and wanted(name)):
            continue
        parts = PurePosixPath(name).parts[:-1]
        if any(p in ("", ".", "..") or p.casefold().rstrip(". ") == ".git" for p in parts):
            continue  # git would not check such a path out either
        data = git.read_blob(fields[2]) or b""
        target = root.joinpath(*parts, written_as)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("ab") as out:  # '.GITIGNORE' and '.gitignore': one file on Windows
            out.write(data + b"\n")  # whole, as git reads it
        files["/".join(parts)] = name
    return files


# ---------------------------------------------------------------------------- .gitattributes


def _breaking_attributes(
    git: Git, commit: str, base: str | None, changed: list[str], config: KbConfig
) -> list[Violation]:
    """Attributes that break kbapp, as git gives them to the documents (and to a new document
    in each folder) with every ``.gitattributes`` of the tree together: a macro defined in the
    top-level file and used in a folder's is expanded the way git does. (A file that breaks
    them on its own is reported by :func:`policy.check_gitattributes`, with its line.)"""
    for path in changed:
        data = git.read_blob(f"{commit}:{path}")
        if data is not None and check_gitattributes(path, data):
            return []
    paths = _documents_and_probes(_tree_files(git, commit), config)
    now = _attributes_in_tree(git, commit, paths)
    before = _attributes_in_tree(git, base, paths) if base else {}
    out = []
    for path in sorted(now, key=lambda p: (_is_probe(p), p)):
        for name, value in now[path].items():
            if value == "unspecified" or (name == "merge" and value == "kbapp"):
                continue
            if before.get(path, {}).get(name) == value:
                continue  # from before this commit
            why = (
                "switches kbapp's merge driver off (only merge=kbapp is allowed)"
                if name == "merge"
                else BREAKING_ATTRIBUTES[name]
            )
            out.append(
                Violation(
                    changed[0],
                    0,
                    "gitattributes",
                    f"the .gitattributes files give {_shown(path)} {name}={value}, which {why}; "
                    "remove it",
                )
            )
            break
        if len(out) >= 3:
            break
    return out


def _attributes_in_tree(git: Git, rev: str, paths: list[str]) -> dict[str, dict[str, str]]:
    names = ["merge", *BREAKING_ATTRIBUTES]
    with tempfile.TemporaryDirectory(prefix="kbapp-attributes-") as folder:
        root = Path(folder)
        if not _write_tree_files(git, rev, root, is_gitattributes_path, GITATTRIBUTES_NAME):
            return {}
        return git.attributes(paths, names, work_tree=root)
