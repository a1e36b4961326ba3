"""Reading the repository: the queries of the git gateway (:class:`kbapp.sync.git.Git`).

History (:meth:`GitQueries.log`, parsed once in :mod:`kbapp.sync.gitlog`), the files git
lists, ignores and gives attributes, blobs, revisions, refs and the names a diff lists. None
of them changes the repository; all run git through :meth:`GitRunner.run
<kbapp.sync.gitrun.GitRunner.run>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kbapp.sync.gitenv import _BASE_ENV
from kbapp.sync.gitlog import _LOG_FORMAT, LogEntry, parse_log
from kbapp.sync.gitroot import gitpython_module
from kbapp.sync.gitrun import LITERAL, GitRunner, _nul_list


@dataclass(frozen=True)
class IgnoreRule:
    """The ignore rule that matches a path: the file it is in, its line, the pattern."""

    source: str
    line: int
    pattern: str


class GitQueries(GitRunner):
    """What git says about the repository; a part of :class:`kbapp.sync.git.Git`."""

    def log(
        self,
        *revisions: str,
        paths: Sequence[str] = (),
        follow: bool = False,
        no_merges: bool = False,
        since: str | None = None,
        changed_line: str | None = None,
        limit: int | None = None,
        diff_filter: str = "",
        patch: bool = False,
    ) -> list[LogEntry]:
        """The commits ``git log`` lists (newest first) with their files, parsed once, here.

        ``revisions`` as git takes them (``a..b``; none: from HEAD), ``paths`` limit to those
        files (``follow``: one file across renames), ``since`` anything ``--since`` takes,
        ``changed_line`` a regex of lines added or removed (``-G``), ``diff_filter`` the kinds
        of change to list (``--diff-filter``: ``MR`` for changed and renamed files). Renames are
        detected. With ``patch`` each file also carries the lines it gained and lost
        (:attr:`FileChange.added`, :attr:`FileChange.removed`; no context): ask for it with a
        ``diff_filter`` that leaves out added files when a commit may add thousands (an import).
        An empty repository, or a revision git does not know, has no commits."""
        args = [
            "-c",
            "core.quotepath=off",
            # one file (``follow``) is a name, never a pattern (':(glob)x.md', 'a[b].md')
            *((LITERAL,) if follow else ()),
            "log",
            "-M",
            *(("--raw", "-p", "-U0", "--no-ext-diff") if patch else ("--name-status",)),
            "-z",
            "--no-color",
            f"--format={_LOG_FORMAT}",
        ]
        if diff_filter:
            args.append(f"--diff-filter={diff_filter}")
        if follow:
            args.append("--follow")
        if no_merges:
            args.append("--no-merges")
        if since:
            args.append(f"--since={since}")
        if changed_line:
            args += ["-G", changed_line]
        if limit is not None:
            args.append(f"-{int(limit)}")
        args += [*revisions, "--", *paths]
        return parse_log(self.run(*args, check=False, strip=False).stdout)

    def head(self) -> str | None:
        result = self.run("rev-parse", "--verify", "-q", "HEAD", check=False)
        return result.stdout if result.status == 0 else None

    def current_branch(self) -> str | None:
        result = self.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
        return result.stdout if result.status == 0 else None

    def list_files(self, *patterns: str, ignored_too: bool = False) -> list[str]:
        """Tracked and untracked files matching ``patterns`` (git pathspecs; default ``*.md``),
        relative, with '/'. Untracked files that ignore rules match are left out unless
        ``ignored_too``: documents never depend on a ``.gitignore``."""
        out = self.run(
            "-c",
            "core.quotepath=off",
            "ls-files",
            "-z",
            "--cached",
            "--others",
            *(() if ignored_too else ("--exclude-standard",)),
            "--",
            *(patterns or ("*.md",)),
            strip=False,
        ).stdout
        return sorted({p for p in out.split("\0") if p})

    def ignored_untracked(self, *patterns: str) -> list[str]:
        """Untracked files matching ``patterns`` that ignore rules hide from ``git status``
        and ``git add``."""
        out = self.run(
            "-c",
            "core.quotepath=off",
            "ls-files",
            "-z",
            "--others",
            "--ignored",
            "--exclude-standard",
            "--",
            *patterns,
            strip=False,
        ).stdout
        return sorted({p for p in out.split("\0") if p})

    def ignored(self, paths: Sequence[str], work_tree: Path | None = None) -> dict[str, IgnoreRule]:
        """Which of ``paths`` the work tree's ignore rules match, tracked or not (``git
        check-ignore --no-index``; a path a ``!`` rule re-includes is not matched), each with
        the rule that matches. Only the repository's own files are read (``.gitignore`` at any
        depth and ``info/exclude``), never the user's ``core.excludesFile``. ``work_tree``:
        another folder's ``.gitignore`` files instead of the work tree's (a bare repository
        has none: the hook writes a tree's into a temporary folder). The rules are matched as
        git matches them on every file system: case-sensitively, and case-insensitively as on
        Windows and macOS (``core.ignorecase=true``: ``*.MD`` hides ``x.md`` there)."""
        if not paths:
            return {}
        other = [f"--work-tree={work_tree}"] if work_tree is not None else []
        found: dict[str, IgnoreRule] = {}
        for ignore_case in ("false", "true"):
            fields = self.run(
                "-c",
                "core.quotepath=off",
                "-c",
                "core.excludesFile=",
                "-c",
                f"core.ignorecase={ignore_case}",
                *other,
                "check-ignore",
                "--no-index",
                "--verbose",
                "-z",
                "--stdin",
                input=_nul_list(paths),
                check=False,
                strip=False,
            ).stdout.split("\0")
            for index in range(0, len(fields) - 3, 4):
                source, line, pattern, path = fields[index : index + 4]
                if pattern and not pattern.startswith("!") and path not in found:
                    found[path] = IgnoreRule(source, int(line or 0), pattern)
        return found

    def attributes(
        self, paths: Sequence[str], names: Sequence[str], work_tree: Path | None = None
    ) -> dict[str, dict[str, str]]:
        """The attributes ``names`` git gives each of ``paths`` (``git check-attr``: every
        ``.gitattributes``, macros from the top-level one, ``info/attributes``): path -> name
        -> ``set``, ``unset``, ``unspecified`` or the value. ``work_tree`` as in
        :meth:`ignored`."""
        if not paths or not names:
            return {}
        other = [f"--work-tree={work_tree}"] if work_tree is not None else []
        fields = self.run(
            "-c",
            "core.quotepath=off",
            "-c",
            "core.attributesFile=",
            *other,
            "check-attr",
            "-z",
            "--stdin",
            *names,
            input=_nul_list(paths),
            check=False,
            strip=False,
        ).stdout.split("\0")
        found: dict[str, dict[str, str]] = {}
        for index in range(0, len(fields) - 2, 3):
            path, name, value = fields[index : index + 3]
            found.setdefault(path, {})[name] = value
        return found

    def read_blob(self, spec: str) -> bytes | None:
        """The bytes of a blob (``<rev>:<path>``, ``:2:<path>``, a blob id), None if absent."""
        gitpython = gitpython_module()
        try:
            status, stdout, _ = self.repo.git.execute(
                ["git", "cat-file", "blob", spec],
                with_extended_output=True,
                with_exceptions=False,
                env=dict(_BASE_ENV),
                stdout_as_string=False,
                strip_newline_in_stdout=False,
            )
        except gitpython.GitCommandError:
            return None
        return bytes(stdout) if status == 0 else None

    def read_blobs(self, specs: Sequence[str]) -> list[bytes | None]:
        """The bytes of many blobs (as :meth:`read_blob`, None for one that is absent or not a
        blob) from one ``git cat-file --batch``: a push or a merge of thousands of files costs
        one git process, not one each. A name git's line-based batch cannot carry (a newline
        in it) is read on its own."""
        import tempfile

        batched = [spec for spec in specs if "\n" not in spec and "\r" not in spec]
        found: dict[str, bytes | None] = {}
        if batched:
            gitpython = gitpython_module()
            with tempfile.TemporaryFile() as stdin:
                stdin.write(
                    "".join(f"{spec}\n" for spec in batched).encode("utf-8", "surrogateescape")
                )
                stdin.seek(0)
                try:
                    status, out, _ = self.repo.git.execute(
                        ["git", "cat-file", "--batch"],
                        with_extended_output=True,
                        with_exceptions=False,
                        env=dict(_BASE_ENV),
                        istream=stdin,
                        stdout_as_string=False,
                        strip_newline_in_stdout=False,
                    )
                except gitpython.GitCommandError:
                    status, out = 1, b""
            data = bytes(out) if status == 0 else b""
            position = 0
            for spec in batched:
                end = data.find(b"\n", position)
                if end < 0:
                    break
                header = data[position:end].split(b" ")
                position = end + 1
                if len(header) != 3 or not header[2].isdigit():  # "<spec> missing"
                    found[spec] = None
                    continue
                size = int(header[2])
                found[spec] = data[position : position + size] if header[1] == b"blob" else None
                position += size + 1  # the content, then a newline
        return [found[spec] if spec in found else self.read_blob(spec) for spec in specs]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return (
            self.run("merge-base", "--is-ancestor", ancestor, descendant, check=False).status == 0
        )

    def diff_names(
        self,
        *revs: str,
        cached: bool = False,
        diff_filter: str = "",
        renames: bool = False,
        paths: Iterable[str] = (),
        check: bool = False,
    ) -> list[str]:
        """The paths ``git diff --name-only`` lists between ``revs`` (the index and the work
        tree when none), read NUL-separated so that any file name comes back as it is."""
        args = ["-c", "core.quotepath=off", "--no-optional-locks", "--literal-pathspecs"]
        args += ["diff", "--name-only", "-z"]
        if cached:
            args.append("--cached")
        if not renames:
            args.append("--no-renames")
        if diff_filter:
            args.append(f"--diff-filter={diff_filter}")
        args += revs
        if paths:
            args += ["--", *paths]
        out = self.run(*args, check=check, strip=False).stdout
        return [p for p in out.split("\0") if p]

    def rev(self, spec: str) -> str | None:
        result = self.run("rev-parse", "--verify", "-q", spec + "^{commit}", check=False)
        return result.stdout if result.status == 0 else None

    def refs(self, prefix: str) -> list[tuple[str, str]]:
        """(ref name, object id) of every ref under ``prefix``."""
        out = self.out("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        return [tuple(line.split(" ", 1)) for line in out.splitlines() if line]  # type: ignore[misc]
