"""Checks every commit kbapp makes must pass, before anything is written to git.

One place, called by :meth:`kbapp.workspace.Workspace.save`, the importer (and the sync's
commit of pending work). The same rules run in the git hooks kbapp installs: the pre-commit
hook for people on plain git (``kbapp hooks install`` -> ``kbapp policy-check``) and the
server's pre-receive hook (:mod:`kbapp.serverhook`), which adds the rules only a server can
enforce (protected paths, who pushed).

- sensitivity: an ``internal`` document cannot be committed to a ``shared`` knowledge base;
- conflict markers: never committed;
- secrets (:mod:`kbapp.secrets`): keys, passwords, tokens, with the line that tripped;
- front matter (server side, where nobody can fix it by hand later): readable YAML and valid
  core fields.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kbapp import documents, mdlines
from kbapp.config import CONFIG_PATH, config_from_dict
from kbapp.errors import ConfigError, DocumentError, PolicyError
from kbapp.secrets import ALLOW_MARKER, SecretsPolicy, decode_for_scan, scan_text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from kbapp.config import KbConfig
    from kbapp.documents import Document

_CONFLICT_START_RE = re.compile(r"^<{7}(?: |\r?$)", re.M)
_CONFLICT_END_RE = re.compile(r"^>{7}(?: |\r?$)", re.M)


def conflict_marker_line(text: str) -> int | None:
    """1-based line of a git conflict block (``<<<<<<<`` ... ``>>>>>>>``) outside code fences.

    A lone ``=======`` is a Markdown heading underline, not a marker, so only a start marker
    followed later by an end marker counts."""
    for start in _CONFLICT_START_RE.finditer(text):
        if _inside_fence(text, start.start()):
            continue
        if _CONFLICT_END_RE.search(text, start.end()):
            return text.count("\n", 0, start.start()) + 1
    return None


SYMLINK_MESSAGE = ("is a symbolic link; a knowledge base holds only real files (a link can "
                   "point at the reader's own files, such as .git/config)")


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    rule: str
    message: str
    #: For a secret: ``sha256:<hex>`` of the value (see :func:`kbapp.secrets.value_digest`).
    digest: str = ""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message} [{self.rule}]"


def check_document(
    doc: Document, data: bytes, config: KbConfig, *, lines: Iterable[int] | None = None
) -> list[Violation]:
    """Everything that must stop ``doc`` (about to be written as ``data``) from being committed.

    ``lines`` limits the secret scan to those (added) lines; ``None`` scans the whole file."""
    found: list[Violation] = []
    if config.sensitivity == "shared" and doc.sensitivity == "internal":
        line = doc.field_lines.get("sensitivity", 1)
        found.append(
            Violation(
                doc.path,
                line,
                "sensitivity",
                "this document is marked 'internal' and this knowledge base is shared with "
                "another organisation; move it to an internal knowledge base or change its "
                "sensitivity",
            )
        )
    found.extend(check_text(doc.path, data.decode("utf-8", errors="replace"), config, lines=lines))
    return sorted(found, key=lambda v: v.line)


def check_text(
    path: str, text: str, config: KbConfig | None, *, lines: Iterable[int] | None = None
) -> list[Violation]:
    """Conflict markers and secrets in any text file (a document, a template, the config)."""
    found: list[Violation] = []
    marker = conflict_marker_line(text)
    if marker is not None:
        found.append(Violation(path, marker, "conflict-marker", "contains a merge conflict marker"))
    return found + _secrets(path, text, config, lines)


def _secrets(
    path: str, text: str, config: KbConfig | None, lines: Iterable[int] | None
) -> list[Violation]:
    return [
        Violation(
            path,
            hit.line,
            hit.rule,
            f"looks like a secret: {hit.description} ({hit.preview}); remove it (use a "
            f"vault reference), or mark a reviewed false positive with '{ALLOW_MARKER}'",
            hit.digest,
        )
        for hit in scan_text(text, path, SecretsPolicy.from_config(config), lines=lines)
    ]


def check_front_matter(doc: Document) -> list[Violation]:
    """Front matter that must be readable and valid before it reaches the shared remote."""
    found: list[Violation] = []
    error = doc.front_matter_error
    if error is not None:
        found.append(Violation(doc.path, error.line or 1, "front-matter", str(error)))
        return found
    meta = doc.meta
    checks = (
        ("id", lambda v: isinstance(v, str) and bool(documents.ID_RE.match(v)),
         "is not an id like kb-3f9c2a1e"),
        ("status", lambda v: v in documents.STATUSES, f"is not one of {', '.join(documents.STATUSES)}"),
        ("sensitivity", lambda v: v in documents.SENSITIVITIES, "is not 'shared' or 'internal'"),
        ("review", lambda v: isinstance(v, dict), "must hold interval_days, last_reviewed, reviewed_by"),
    )
    review = meta.get("review")
    if isinstance(review, dict) and "interval_days" in review and \
            not documents.valid_interval(review["interval_days"]):
        found.append(Violation(doc.path, doc.field_lines.get("review.interval_days", 1),
                               "front-matter", f"review.interval_days: {review['interval_days']!r} "
                               f"is not a number of days between 1 and {documents.MAX_INTERVAL_DAYS}"))
    for name, valid, problem in checks:
        if name in meta and not valid(meta[name]):
            found.append(Violation(doc.path, doc.field_lines.get(name, 1), "front-matter",
                                   f"{name}: {meta[name]!r} {problem}"))
    return found


def check_file(
    path: str,
    data: bytes,
    config: KbConfig,
    *,
    lines: Iterable[int] | None = None,
    front_matter: bool = False,
) -> list[Violation]:
    """The policy for one file of a commit, whatever it is: documents get the document rules,
    other text files conflict markers and secrets, and every file, in whatever encoding
    (UTF-16 from PowerShell, a leading NUL byte, a binary), the secret scan."""
    text, is_text = decode_for_scan(data)
    if not is_text:
        return _secrets(path, text, config, lines)
    if is_document_path(path, config):
        try:
            doc = documents.parse(data, path)
        except DocumentError as exc:
            found = [Violation(path, exc.line or 1, "unreadable", exc.reason)] if front_matter else []
            return found + check_text(path, text, config, lines=lines)
        found = check_document(doc, data, config, lines=lines)
        if front_matter:
            found = sorted(found + check_front_matter(doc), key=lambda v: v.line)
        return found
    return check_text(path, text, config, lines=lines)


def check_commit_message(message: str, config: KbConfig | None) -> list[Violation]:
    """Secrets in a commit message: it is pushed to the other organisation like a file."""
    policy = SecretsPolicy.from_config(config)
    policy.allow_paths = []  # the message is no file an allow_paths pattern could mean
    return [
        Violation("(commit message)", hit.line, hit.rule,
                  f"looks like a secret: {hit.description} ({hit.preview}); reword the commit "
                  "message (git commit --amend, or rebase to reword an older one)")
        for hit in scan_text(message, "(commit message)", policy)
    ]


def check_commit_file(
    path: str, data: bytes, config: KbConfig, *, lines: Iterable[int] | None = None
) -> list[Violation]:
    """Everything the shared repository refuses in one file of a commit: **the** content rule,
    run by the server's pre-receive hook on every pushed file (:mod:`kbapp.serverhook`) and by
    the client on every file before it commits it (saves, sync, the pre-commit hook), so
    that nothing kbapp commits is refused later. ``lines``: the added lines (the hook); None
    scans the whole file (the client)."""
    found = check_file(path, data, config, lines=lines, front_matter=True)
    if path == CONFIG_PATH:
        found = check_config(path, data) + found
    return found


def check_config(path: str, data: bytes) -> list[Violation]:
    """``.kb/config.toml`` must stay readable: every clone and the hook read their rules in it."""
    try:
        config_from_dict(tomllib.loads(data.decode("utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ConfigError) as exc:
        return [Violation(path, 1, "config", f"the knowledge base settings are broken: {exc}")]
    return []


def is_document_path(path: str, config: KbConfig) -> bool:
    """Whether ``path`` is a knowledge document (the rules of ``Workspace.document_paths``)."""
    return (
        path.endswith(".md")
        and not path.startswith(".")
        and "/." not in path
        and not config.is_excluded(path)
    )


def _inside_fence(text: str, offset: int) -> bool:
    number = text.count("\n", 0, offset) + 1  # fences as CommonMark closes them: mdlines
    return any(n == number and kind == "code" for n, _, kind in mdlines.lines(text[:offset + 1]))


def enforce(violations: list[Violation]) -> None:
    if violations:
        first = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        raise PolicyError(
            f"Not committed: {first}{more}", details="\n".join(str(v) for v in violations)
        )
