"""Checks every commit kbapp makes must pass, before anything is written to git.

One place, called by :meth:`kbapp.workspace.Workspace.save`, the importer (and the sync's
commit of pending work). The same rules run in the git hooks kbapp installs: the pre-commit
hook for people on plain git (``kbapp hooks install`` -> ``kbapp policy-check``) and the
server's pre-receive hook (:mod:`kbapp.trust.serverhook`), which adds the rules only a server can
enforce (protected paths, who pushed).

- sensitivity: an ``internal`` document cannot be committed to a ``shared`` knowledge base;
- conflict markers: never committed;
- secrets (:mod:`kbapp.trust.secrets`): keys, passwords, tokens, with the line that tripped;
- front matter (server side, where nobody can fix it by hand later): readable YAML and valid
  core fields.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kbapp.config import CONFIG_PATH, config_from_dict
from kbapp.documents import filenames, frontmatter, mdlines, schema
from kbapp.documents import model as documents
from kbapp.errors import ConfigError, DocumentError, PolicyError
from kbapp.fsutil import is_git_dir_name
from kbapp.trust.secrets import ALLOW_MARKER, SecretsPolicy, decode_for_scan, scan_text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from kbapp.config import KbConfig
    from kbapp.documents.model import Document

_CONFLICT_MARKER_RE = re.compile(r"^(?:<{7}|>{7})(?: |\r?$)", re.M)


def conflict_marker_line(text: str) -> int | None:
    """1-based line of the first git conflict marker outside code fences: a ``<<<<<<<`` start
    or a ``>>>>>>>`` end line, each on its own (half a block left by a hand edit is as broken
    as a whole one). A lone ``=======`` is a Markdown heading underline, not a marker."""
    for marker in _CONFLICT_MARKER_RE.finditer(text):
        if not _inside_fence(text, marker.start()):
            return text.count("\n", 0, marker.start()) + 1
    return None


SYMLINK_MESSAGE = (
    "is a symbolic link; a knowledge base holds only real files (a link can "
    "point at the reader's own files, such as .git/config)"
)


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    rule: str
    message: str
    #: For a secret: ``sha256:<hex>`` of the value (see :func:`kbapp.trust.secrets.value_digest`).
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
    for fld in schema.FIELDS:
        if not fld.checked_on_push:
            continue
        parent = (
            schema.value_at(doc.meta, fld.name.rpartition(".")[0]) if "." in fld.name else doc.meta
        )
        if not isinstance(parent, dict) or fld.key not in parent:
            continue
        value = parent[fld.key]
        wrong = fld.problem(value)
        if wrong is not None:
            found.append(
                Violation(
                    doc.path,
                    doc.field_lines.get(fld.name, 1),
                    "front-matter",
                    f"{fld.name}: {value!r} {wrong}",
                )
            )
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
    ``.gitattributes`` the attributes Markdown documents may not have, other text files
    conflict markers and secrets, and every file, in whatever encoding
    (UTF-16 from PowerShell, a leading NUL byte, a binary), the secret scan."""
    text, is_text = decode_for_scan(data)
    if is_gitattributes_path(path):
        return check_gitattributes(path, data) + check_text(path, text, config, lines=lines)
    if not is_text:
        return _secrets(path, text, config, lines)
    markdown = is_markdown_path(path, config)
    if markdown or declares_sensitivity(text):
        try:
            doc = documents.parse(data, path)
        except DocumentError as exc:
            found = (
                [Violation(path, exc.line or 1, "unreadable", exc.reason)] if front_matter else []
            )
            return found + check_text(path, text, config, lines=lines)
        found = check_document(doc, data, config, lines=lines)
        if front_matter and markdown:
            found += check_front_matter(doc)
        elif doc.front_matter_error is not None:
            # Another text file that says its sensitivity in front matter nobody can read
            # (a key given twice): it cannot be judged, so it is not accepted.
            found += check_front_matter(doc)
        return sorted(found, key=lambda v: v.line)
    return check_text(path, text, config, lines=lines)


_SENSITIVITY_KEY_RE = re.compile(r"""^[ \t]*["']?sensitivity["']?[ \t]*[:=]""", re.M | re.I)


def declares_sensitivity(text: str) -> bool:
    """Whether a text begins with a front matter block that has a ``sensitivity`` key: any
    text file that does (``notes.md.txt``, ``plan.txt``) is judged for it as a document is."""
    block = frontmatter.find_block(text.removeprefix("\ufeff"))
    return block is not None and _SENSITIVITY_KEY_RE.search(block.text) is not None


def check_file_name(path: str, config: KbConfig | None) -> list[Violation]:
    """Secrets in a file's name (``PGPASSWORD=....md``): names are pushed like contents."""
    # Each folder and the name without its extension on a line of its own: "x.md" would read
    # as a file name, not as a value.
    parts = path.split("/")
    stem, dot, _ = parts[-1].rpartition(".")
    text = "\n".join([*parts[:-1], stem if dot and stem else parts[-1]])
    return [
        Violation(path, 0, v.rule, v.message)
        for v in _text_secrets(text, path, "rename the file (git mv)", config, label="file name")
    ]


def _text_secrets(
    text: str, where: str, fix: str, config: KbConfig | None, label: str = ""
) -> list[Violation]:
    policy = SecretsPolicy.from_config(config)
    policy.allow_paths = []  # the text is no file an allow_paths pattern could mean
    what = f"{label} looks like a secret" if label else "looks like a secret"
    return [
        Violation(where, hit.line, hit.rule, f"{what}: {hit.description} ({hit.preview}); {fix}")
        for hit in scan_text(text, where, policy)
    ]


def has_undecodable_name(path: str) -> bool:
    """A name whose bytes are not UTF-8 (git and the file system hand them over as lone
    surrogates): never a document; ``kbapp lint`` and the hook name it (:func:`check_path`)."""
    return any("\udc80" <= char <= "\udcff" for char in path)


#: Names Windows keeps for devices, whatever follows a dot (``con.md``, ``LPT1.tar.gz``).
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{port}{n}" for port in ("COM", "LPT") for n in range(1, 10)]
)
#: Characters a Windows file name cannot hold (the backslash separates folders there).
_WINDOWS_FORBIDDEN = frozenset('\\<>:"|?*') | frozenset(chr(code) for code in range(32))


def windows_name_problem(path: str) -> str | None:
    """Why a Windows desktop cannot check ``path`` out (None when it can): a backslash, one of
    ``< > : " | ? *`` or a control character in a name, a part ending in a dot or a space, a
    device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with any extension)."""
    for part in path.split("/"):
        forbidden = sorted(set(part) & _WINDOWS_FORBIDDEN)
        if forbidden:
            shown = ", ".join(dict.fromkeys(_character_name(c) for c in forbidden))
            return f"'{_printable(part)}' holds {shown}"
        if part.endswith((".", " ")):
            return f"'{_printable(part)}' ends in a dot or a space"
        if part.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
            return f"'{part}' is a name Windows keeps for a device"
    return None


def _character_name(char: str) -> str:
    if char == "\\":
        return "a backslash"
    return "a control character" if ord(char) < 32 else f"'{char}'"


def _printable(text: str) -> str:
    return "".join(c if ord(c) >= 32 else "?" for c in text)


def check_path(path: str) -> list[Violation]:
    """A path some clone cannot check out, so that one such entry in the shared tree breaks
    checkout, merge and sync there: one that git refuses everywhere (a part naming git's own
    folder as some file system sees it: ``.git``, ``.GIT``, ``.git.``, ``git~1``, an NTFS
    stream of one; or ``.``/``..``), a name that is not UTF-8, or one a Windows desktop
    cannot have (:func:`windows_name_problem`). The one rule for names: the hook, the
    client's commits and the list of documents (``Workspace.document_paths``) apply it."""
    if has_undecodable_name(path):
        return [
            Violation(
                path.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
                0,
                "path",
                "has a name that is not UTF-8 text, which kbapp and many tools cannot read; "
                "rename it",
            )
        ]
    # A backslash separates folders for git on Windows (core.protectNTFS, on everywhere by
    # default): 'docs/a\\.git' is refused by every clone's checkout too (finding N4).
    parts = path.replace("\\", "/").split("/")
    if any(part in ("", ".", "..") for part in parts) or any(
        is_git_dir_name(part.split("::", 1)[0]) for part in parts
    ):
        return [
            Violation(
                path,
                0,
                "path",
                "is a path git refuses to check out (a part names git's own folder .git, or "
                "is '.' or '..'): every clone would fail to sync; rename it",
            )
        ]
    windows = windows_name_problem(path)
    if windows is not None:
        return [
            Violation(
                path,
                0,
                "path",
                f"is a name a Windows desktop cannot check out ({windows}): the clones there "
                "would fail to sync, and kbapp does not list it anywhere; rename it",
            )
        ]
    return []


def check_commit_file(
    path: str, data: bytes, config: KbConfig, *, lines: Iterable[int] | None = None
) -> list[Violation]:
    """Everything the shared repository refuses in one file of a commit: **the** content rule,
    run by the server's pre-receive hook on every pushed file (:mod:`kbapp.trust.serverhook`) and by
    the client on every file before it commits it (saves, sync, the pre-commit hook), so
    that nothing kbapp commits is refused later. ``lines``: the added lines (the hook); None
    scans the whole file (the client). The file's name is checked too: it is pushed like its
    contents (``PGPASSWORD=....md``)."""
    found = (
        check_path(path)
        + check_file_name(path, config)
        + check_file(path, data, config, lines=lines, front_matter=True)
    )
    if path == CONFIG_PATH:
        found = check_config(path, data) + found
    return found


GITATTRIBUTES_NAME = ".gitattributes"

#: Attributes that change what git writes to or reads from a Markdown document (encoding,
#: line ends, filters, ``$Id$`` expansion), make it binary to diff or merge, or change the
#: conflict markers kbapp looks for. ``merge`` is allowed only as ``merge=kbapp``.
_BREAKING_ATTRIBUTES = {
    "working-tree-encoding": "re-encodes documents in the working tree (kbapp reads and "
    "writes UTF-8: commits fail with 'failed to encode' and search sees binary files)",
    "text": "changes how git converts documents' line ends (or makes them binary)",
    "eol": "changes documents' line ends in the working tree",
    "crlf": "changes documents' line ends in the working tree",
    "filter": "runs a filter over documents' content",
    "ident": "rewrites $Id$ in documents' content",
    "diff": "changes how git diffs documents (or makes them binary)",
    "conflict-marker-size": "changes the conflict markers kbapp looks for",
    "lockable": "checks documents out read-only",
}
_BUILTIN_MACROS = {"binary": ["-diff", "-merge", "-text"]}
_GLOB_CHARS = set("*?[")


def is_gitattributes_path(path: str) -> bool:
    """Whether ``path`` is a ``.gitattributes`` file (at any depth, as a case-insensitive file
    system or NTFS sees the name)."""
    return path.rsplit("/", 1)[-1].split("::", 1)[0].rstrip(". ").casefold() == GITATTRIBUTES_NAME


def check_gitattributes(path: str, data: bytes) -> list[Violation]:
    """Attributes a ``.gitattributes`` file may not give Markdown documents, for anyone: they
    would break every kbapp clone (``.gitattributes`` is part of the repository contract)."""
    text = data.decode("utf-8", errors="replace")
    macros = {name: list(attrs) for name, attrs in _BUILTIN_MACROS.items()}
    found: list[Violation] = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = _attribute_fields(line)
        if not fields:
            continue
        pattern, attrs = fields[0], fields[1:]
        if pattern.startswith("[attr]"):
            macros[pattern[len("[attr]") :]] = attrs
            continue
        if not _may_match_markdown(pattern):
            continue
        for name, value in _expand(attrs, macros):
            if name == "merge" and value == "kbapp":
                continue
            if name == "merge":
                why = "switches kbapp's merge driver off (only merge=kbapp is allowed)"
            elif name in _BREAKING_ATTRIBUTES:
                why = _BREAKING_ATTRIBUTES[name]
            else:
                continue
            found.append(
                Violation(
                    path,
                    number,
                    "gitattributes",
                    f"'{pattern}' sets {name} on Markdown documents, which {why}; remove it",
                )
            )
            break
    return found


def _attribute_fields(line: str) -> list[str]:
    line = line.strip()
    if not line or line.startswith("#"):
        return []
    if line.startswith('"'):  # a quoted pattern (git's C-style quoting)
        end = line.find('"', 1)
        while end > 0 and line[end - 1] == "\\":
            end = line.find('"', end + 1)
        if end < 0:
            return line.split()
        return [line[1:end], *line[end + 1 :].split()]
    return line.split()


def _expand(attrs: list[str], macros: dict[str, list[str]]) -> list[tuple[str, str]]:
    """``(name, value)`` of each attribute, macros expanded (value: ``set``, ``unset``,
    ``unspecified`` or the string after ``=``)."""
    out: list[tuple[str, str]] = []
    todo, seen = list(attrs), set()
    while todo:
        attr = todo.pop(0)
        if attr.startswith("-"):
            name, value = attr[1:], "unset"
        elif attr.startswith("!"):
            name, value = attr[1:], "unspecified"
        elif "=" in attr:
            name, value = attr.split("=", 1)
        else:
            name, value = attr, "set"
        out.append((name, value))
        if name in macros and name not in seen and value == "set":
            seen.add(name)
            todo.extend(macros[name])
    return out


def _may_match_markdown(pattern: str) -> bool:
    """Whether a gitattributes pattern could match a ``.md`` file (conservative: a wildcard in
    the last part counts unless it ends in a literal extension other than ``.md``)."""
    last = pattern.rstrip("/").rsplit("/", 1)[-1].casefold()
    if not _GLOB_CHARS & set(last):
        return last.endswith(".md")
    if "." in last:
        extension = last.rsplit(".", 1)[1]
        if extension and not _GLOB_CHARS & set(extension) and "\\" not in extension:
            return extension == "md"
    return True


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


def is_markdown_path(path: str, config: KbConfig) -> bool:
    """Whether ``path`` is a Markdown file of the knowledge base with any Markdown extension
    (:data:`kbapp.documents.filenames.MARKDOWN_EXTENSIONS`, any case): ``x.MD``, ``x.mdown``,
    ``x.markdown`` as other tools write them. kbapp lists only ``.md`` documents
    (:func:`is_document_path`); every Markdown file gets the document rules (sensitivity,
    front matter, one id per document) when it is committed, and ``kbapp lint`` suggests
    renaming it to ``.md``."""
    return (
        filenames.is_markdown_name(path)
        and not path.startswith(".")
        and "/." not in path
        and not config.is_excluded(path)
    )


def _inside_fence(text: str, offset: int) -> bool:
    number = text.count("\n", 0, offset) + 1  # fences as CommonMark closes them: mdlines
    return any(n == number and kind == "code" for n, _, kind in mdlines.lines(text[: offset + 1]))


def enforce(violations: list[Violation]) -> None:
    if violations:
        first = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        raise PolicyError(
            f"Not committed: {first}{more}", details="\n".join(str(v) for v in violations)
        )
