"""What git shows of a commit or an annotated tag besides its files: **one** rule for both.

A commit or tag object is a block of header lines, a blank line, and the message. Everything
in it is pushed to the other organisation and shown (``git log``, ``git show``, kbapp's history
and audit, ``git cat-file -p``), so every line is scanned for secrets, whole:

- every header line but the object ids git itself checks (``tree``, ``parent``, ``object``,
  ``type``): author, committer, tagger, the tag's name, ``encoding``, any extra header a
  hand-made object carries (``x-note ...``), and the continuation lines of multi-line headers
  (a ``mergetag`` holds a whole tag: its tagger, message and signature; ``gpgsig`` a signature
  block). No header is exempt: an armoured signature is base64 between two marker lines, which
  no secret rule matches, while a hand-made ``gpgsig`` header can hold any text;
- the message (a signed tag's signature is appended to it, and is scanned like the rest).

git re-encodes a commit's author, committer and message for display from the object's
``encoding`` header (``git log`` shows ``PGPASSWORD+AD0-x`` written in UTF-7 as
``PGPASSWORD=x``), so the raw bytes would not be what readers see: an ``encoding`` other than
UTF-8 (in any spelling: ``utf-8``, ``UTF8``) is refused, on commits and tags alike. kbapp's
own commits never carry one (:mod:`kbapp.sync.gitenv` pins ``i18n.commitEncoding``).

:func:`check_object` judges an object's raw bytes (``git cat-file commit|tag``): the server's
hook runs it on every commit and tag a push brings (:mod:`kbapp.trust.serverhook`, and so sync
before it pushes). Before a commit exists, the client runs the same function on the object it
is about to make (:func:`draft_commit`: kbapp's saves, the ``commit-msg`` hook for people on
plain git), so a commit kbapp makes is never refused for its message or its author.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from kbapp.trust.policy import Violation
from kbapp.trust.secrets import SecretsPolicy, decode_for_scan, scan_text

if TYPE_CHECKING:
    from kbapp.config import KbConfig
    from kbapp.sync.git import Git

Kind = Literal["commit", "tag"]

#: The header lines that only name other objects (git checks their form itself), per kind.
_ID_HEADERS: dict[str, re.Pattern[str]] = {
    "commit": re.compile(r"^(?:tree|parent) [0-9a-f]{40}(?:[0-9a-f]{24})?$"),
    "tag": re.compile(r"^(?:object [0-9a-f]{40}(?:[0-9a-f]{24})?|type (?:commit|tree|blob|tag))$"),
}
_UTF8_NAMES = {"utf8"}

_FIX = {
    "commit": {
        "header": "make the commit again with another author and committer name and no such "
        "header (git commit --amend --reset-author, or a rebase for an older one)",
        "message": "reword the commit message (git commit --amend, or rebase to reword an older "
        "one)",
        "encoding": "make the commit again in UTF-8 (git config i18n.commitEncoding UTF-8, then "
        "git commit --amend, or a rebase for an older one)",
    },
    "tag": {
        "header": "delete the tag (git tag -d) and create it again with another tagger name",
        "message": "delete the tag (git tag -d) and create it again with another message",
        "encoding": "delete the tag (git tag -d) and create it again with git tag (it writes "
        "UTF-8)",
    },
}


@dataclass(frozen=True)
class _Header:
    line: int  # 1-based line of the object (as ``git cat-file -p`` prints it)
    name: str  # the header this line belongs to (a continuation line: its header's name)
    text: str  # the line as shown (a continuation line without its leading space)


def is_utf8_name(encoding: str) -> bool:
    """Whether an ``encoding`` header names UTF-8, however it is spelled."""
    return re.sub(r"[^0-9a-z]", "", encoding.casefold()) in _UTF8_NAMES


def check_object(kind: Kind, raw: bytes, config: KbConfig | None) -> list[Violation]:
    """Everything wrong with a commit or tag object, given its bytes as git stores them
    (``git cat-file commit|tag ID``): secrets in any header line or the message, and an
    ``encoding`` other than UTF-8. Header lines are reported as ``(commit header):N`` with
    ``N`` the object's line; message lines as ``(commit message):N``, ``N`` the message's."""
    head, _, body = raw.partition(b"\n\n")
    headers = _headers(head)
    found: list[Violation] = []
    for header in headers:
        if header.name == "encoding" and not is_utf8_name(header.text.partition(" ")[2]):
            found.append(
                Violation(
                    f"({kind} header)",
                    header.line,
                    "encoding",
                    f"the object is written in {header.text.partition(' ')[2].strip()!r}, not "
                    "UTF-8; git re-encodes such text for display, so what is checked would not "
                    f"be what readers see; {_FIX[kind]['encoding']}",
                )
            )
    shown = [h for h in headers if not _ID_HEADERS[kind].match(h.text)]
    found += _scan(kind, "header", "\n".join(h.text for h in shown), config, shown)
    message, _is_text = decode_for_scan(body)
    found += _scan(kind, "message", message, config, None)
    return found


def draft_commit(message: str, author: str = "", committer: str = "", encoding: str = "") -> bytes:
    """The object a commit about to be made will be, as far as the rules look at it (its
    ids are not known yet): ``author``/``committer`` as ``Name <email>``, an ``encoding``
    header when git will write one (``i18n.commitEncoding``)."""
    lines = [f"author {author}" if author else "", f"committer {committer}" if committer else ""]
    if encoding and not is_utf8_name(encoding):
        lines.append(f"encoding {encoding}")
    head = "\n".join(line for line in lines if line)
    return f"{head}\n\n{message}".encode("utf-8", "surrogateescape")


def _headers(head: bytes) -> list[_Header]:
    text, _is_text = decode_for_scan(head)
    out: list[_Header] = []
    name = ""
    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith(" ") and out:
            out.append(_Header(number, name, line[1:]))
            continue
        name = line.split(" ", 1)[0]
        out.append(_Header(number, name, line))
    return out


def _scan(
    kind: str, part: str, text: str, config: KbConfig | None, headers: list[_Header] | None
) -> list[Violation]:
    policy = SecretsPolicy.from_config(config)
    policy.allow_paths = []  # the text is no file an allow_paths pattern could mean
    where = f"({kind} {part})"
    out = []
    for hit in scan_text(text, where, policy):
        if headers is not None:
            header = headers[hit.line - 1]
            line, what = header.line, f"the {header.name} header looks like a secret"
        else:
            line, what = hit.line, "looks like a secret"
        out.append(
            Violation(
                where,
                line,
                hit.rule,
                f"{what}: {hit.description} ({hit.preview}); {_FIX[kind][part]}",
                hit.digest,
            )
        )
    return out


def check_ref_name(ref: str, config: KbConfig | None) -> list[Violation]:
    """Secrets in the name of a pushed ref (``refs/tags/PGPASSWORD=...``): every clone fetches
    and shows it."""
    text = "\n".join(ref.split("/"))
    policy = SecretsPolicy.from_config(config)
    policy.allow_paths = []
    return [
        Violation(
            "(ref name)",  # git's own answer names the ref; the report never repeats a secret
            0,
            hit.rule,
            f"the name looks like a secret: {hit.description} ({hit.preview}); push it under "
            "another name",
            hit.digest,
        )
        for hit in scan_text(text, ref, policy)
    ]


def read_object(git: Git, kind: Kind, oid: str) -> bytes:
    """A commit's or tag's bytes as git stores them (``git cat-file``)."""
    text = git.run("cat-file", kind, oid, strip=False).stdout
    return text.encode("utf-8", "surrogateescape")  # GitPython decodes with surrogateescape


def tag_target(raw: bytes) -> tuple[str, str]:
    """(id, type) of what a tag object names (its ``object`` and ``type`` headers)."""
    head = raw.partition(b"\n\n")[0].decode("utf-8", "replace").split("\n")
    fields = dict(line.split(" ", 1) for line in head[:2] if " " in line)
    return fields.get("object", ""), fields.get("type", "")
