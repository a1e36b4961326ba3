"""The one ``git log`` parser: commits as :class:`LogEntry` records with the files they changed
(:class:`FileChange`) and, with a patch, the lines they added and removed. :meth:`Git.log
<kbapp.sync.git.Git.log>` runs git with :data:`_LOG_FORMAT`; :mod:`kbapp.sync.git` re-exports
these names."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FileChange:
    """One file a commit changed: git's status letter (A, M, D, R, C, T), its path after the
    commit, and for a rename or copy its path before. With :meth:`Git.log`'s ``patch``, the
    lines the commit added to it and removed from it, in order, without their ``+``/``-``."""

    status: str
    path: str
    old_path: str = ""
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class LogEntry:
    """One commit of :meth:`Git.log`. ``org_trailer`` is the ``KB-Org`` trailer's value ('' when
    none): :meth:`kbapp.config.KbConfig.commit_org` turns it and ``email`` into the
    organisation."""

    rev: str
    author: str
    email: str
    date: dt.datetime
    subject: str
    body: str
    org_trailer: str
    files: tuple[FileChange, ...] = ()

    @property
    def path(self) -> str:
        """The first file's path ('' when none): with ``follow``, the document's path then."""
        return self.files[0].path if self.files else ""


#: Each commit: a record separator, then NUL-separated fields (no field can hold a NUL), then,
#: with ``-z --name-status``, NUL-separated status letters and paths. Author name and e-mail
#: as the commit has them (``%an``/``%ae``), never through ``.mailmap``: that file is part of
#: the shared tree, and a partner could map their own address to an internal engineer's.
_LOG_FORMAT = (
    "%x1e%H%x00%an%x00%ae%x00%aI%x00%s%x00%(trailers:key=KB-Org,valueonly,separator=%x2C)%x00%B%x00"
)
_LOG_FIELDS = 7
#: A record starts the output, a line (after a patch) or a NUL-ended field (after file names):
#: a separator inside a changed line of a document is not the start of a commit.
_RECORD_RE = re.compile(r"(?:^|(?<=[\n\0]))\x1e")


def parse_log(out: str) -> list[LogEntry]:
    """Parse ``git log -z --name-status --format=`` :data:`_LOG_FORMAT` output, or with
    ``--raw -p -U0`` instead of ``--name-status``."""
    entries: list[LogEntry] = []
    for record in _RECORD_RE.split(out)[1:]:
        fields = record.split("\0")
        if len(fields) < _LOG_FIELDS:
            continue
        rev, author, email, date, subject, trailer, body = fields[:_LOG_FIELDS]
        # "\0\n" ends the header, then "R100\0old\0new\0M\0path\0..." (no path is empty);
        # --raw writes ":100644 100644 <sha> <sha> R100" for the status, and -p the patch
        # after the last path (one text: a patch holds no NUL, binary files are not shown).
        tokens = [t for t in "\0".join(fields[_LOG_FIELDS:]).lstrip("\0\n").split("\0") if t]
        files: list[FileChange] = []
        patch = ""
        i = 0
        while i < len(tokens):
            if tokens[i].startswith("diff --git "):
                patch = tokens[i]
                break
            status = tokens[i].rsplit(" ", 1)[-1][:1]
            if status in ("R", "C") and i + 2 < len(tokens):
                files.append(FileChange(status, tokens[i + 2], tokens[i + 1]))
                i += 3
            elif i + 1 < len(tokens):
                files.append(FileChange(status, tokens[i + 1]))
                i += 2
            else:
                break
        if patch:
            files = _with_lines(files, patch)
        entries.append(
            LogEntry(
                rev,
                author,
                email,
                dt.datetime.fromisoformat(date),
                subject,
                body.strip("\n"),
                trailer.strip(),
                tuple(files),
            )
        )
    return entries


def _with_lines(files: list[FileChange], patch: str) -> list[FileChange]:
    """``files`` with the lines ``patch`` (``-U0``) adds to and removes from each. git writes
    one ``diff --git`` section per file, in the order it lists them; a type change (T) is
    written as two and carries no lines."""
    sections = patch.split("\ndiff --git ")
    if len(sections) != len(files) or any(f.status == "T" for f in files):
        return files
    out: list[FileChange] = []
    for change, section in zip(files, sections):
        added: list[str] = []
        removed: list[str] = []
        in_hunk = False
        for line in section.split("\n"):
            if line.startswith("@@"):
                in_hunk = True
            elif not in_hunk:
                continue  # the section's header: paths, modes, index
            elif line.startswith("+"):
                added.append(line[1:])
            elif line.startswith("-"):
                removed.append(line[1:])
        out.append(dataclasses.replace(change, added=tuple(added), removed=tuple(removed)))
    return out
