"""The two-organisation simulation, shared by tests/test_sync_simulation.py (a fast subset) and
bench/sync_simulation.py (many seeds).

Three clones of one bare repository: Ana (internal) and Jo (partner) work through kbapp; Sam
(partner) uses only the ``git`` command line and a text editor, with kbapp's merge driver set
up as docs/sync.md tells partners to. A seeded random sequence of creates, edits (same line,
different sections, front matter on both sides), renames, deletions and syncs runs in random
order; some kbapp syncs are real ``kbapp sync`` processes killed with SIGKILL part-way. Then
everyone syncs and resolves until nothing is left, and :meth:`Simulation.check` asserts that
the clones converged, every saved version is reachable in the shared repository's history,
and no commit anywhere contains a conflict marker.

The shared repository runs kbapp's pre-receive hook (``kbapp server-hook install``). Some
steps commit, with plain git inside a kbapp clone, what the hook refuses (a secret in a
script, a document that is not UTF-8, an invalid status, a huge integer); the next sync of
that clone is refused before anything leaves, and the simulated user takes the way out
(:func:`kbapp.sync.refused.drop_refused`) and fixes the file. When run as root, Ana's clone lives on
a small tmpfs and some steps fill it up before a save or a sync (disk-full moments): they
must fail with a clear message or succeed, and never publish a piece of a file (every
Markdown version in the shared history ends with a newline, as every writer here ends it).
Every push tells the hook who pushed (``KBAPP_PUSHER_EMAIL``, as a server that knows would), so
the hook's rule that a new commit claims only its pusher's organisation is met by kbapp's own
merges and the plain-git partner's merges of the other side's work.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from kbapp.documents.schema import STATUSES
from kbapp.errors import KbError, PolicyError, SaveError
from kbapp.settings import Settings
from kbapp.sync import conflicts, refused, sync
from kbapp.trust.policy import conflict_marker_line
from kbapp.workspace import Workspace

PEOPLE = {
    "ana": Settings(user_name="Ana Ribeiro", user_email="ana@internal.example"),
    "jo": Settings(user_name="Jo Okafor", user_email="jo@partner.example"),
}
SAM_EMAIL = "sam@partner.example"
SECTIONS = ("## Meaning", "## Impact", "## Diagnosis", "## Mitigation", "## Escalation")
WORDS = ("disk", "queue", "dns", "vpn", "backup", "cert", "ldap", "proxy", "kafka", "redis")


def run_git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=check)


@dataclass
class Simulation:
    base: Path
    seed: int
    steps: int = 30
    kill_rate: float = 0.25  # share of kbapp syncs run as a process that gets killed
    hook: bool = True  # the shared repository runs kbapp's pre-receive hook
    pushers: bool = True  # the server tells the hook who pushed (KBAPP_PUSHER_EMAIL)
    disk_full: bool = True  # disk-full moments on a tmpfs for Ana's clone (root only)
    log: list[str] = field(default_factory=list)
    saved: list[str] = field(default_factory=list)  # every commit a save made, in any clone

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.remote = self.base / "shared.git"
        self.counter = 0
        self.kills = 0  # kbapp syncs killed with SIGKILL
        self.conflicts_met = 0  # documents kbapp kept provisionally for a decision
        self.plain_conflicts = 0  # files the plain-git partner had to settle by hand
        self.syncs = 0
        self.refusals = 0  # syncs refused (before sending) and cleared with the way out
        self.full_moments = 0  # steps run on a full disk
        self.full_failures = 0  # ... of which failed with a message (the rest succeeded)
        self.disk: Path | None = None

    # ------------------------------------------------------------------ set-up

    def setup(self) -> None:
        run_git(self.base, "init", "-q", "--bare", "--initial-branch=main", str(self.remote))
        if self.hook:
            subprocess.run(
                [sys.executable, "-m", "kbapp", "server-hook", "install", str(self.remote)],
                check=True,
                capture_output=True,
            )
        ana_root = self.base / "ana"
        if self.disk_full and hasattr(os, "geteuid") and os.geteuid() == 0:
            mount = self.base / "disk"
            mount.mkdir()
            mounted = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)],
                capture_output=True,
                check=False,
            )
            if mounted.returncode == 0:
                self.disk = mount
                ana_root = mount / "ana"
        self.ana = Workspace.init(
            ana_root,
            "Simulated KB",
            ["internal", "partner"],
            settings=PEOPLE["ana"],
            domains={"internal": ["internal.example"], "partner": ["partner.example"]},
        )
        run_git(self.ana.root, "remote", "add", "origin", str(self.remote))
        for n in range(3):
            self._kb_create(self.ana, f"seed {n}")
        sync.sync(self.ana)
        self.jo = sync.clone(str(self.remote), self.base / "jo", PEOPLE["jo"])
        # Each person's own git identity, as on their own machine: the killed ``kbapp sync``
        # processes run without kbapp's settings and commit (a merge) as git says.
        for ws, person in ((self.ana, PEOPLE["ana"]), (self.jo, PEOPLE["jo"])):
            run_git(ws.root, "config", "user.name", person.user_name)
            run_git(ws.root, "config", "user.email", person.user_email)
        self.sam = self.base / "sam"
        run_git(self.base, "clone", "-q", str(self.remote), str(self.sam))
        for key, value in (
            ("user.name", "Sam Plain"),
            ("user.email", SAM_EMAIL),
            ("merge.kbapp.driver", sync.driver_command()),
            ("pull.rebase", "false"),
            ("commit.gpgsign", "false"),
        ):
            run_git(self.sam, "config", key, value)

    def close(self) -> None:
        for ws in (getattr(self, "ana", None), getattr(self, "jo", None)):
            if ws is not None:
                ws.close()
        if self.disk is not None:
            subprocess.run(["umount", "-l", str(self.disk)], capture_output=True, check=False)
            self.disk = None

    # ------------------------------------------------------------------ running

    def run(self) -> None:
        self.setup()
        actions = [
            "create",
            "same_line",
            "section",
            "front_matter",
            "front_matter",
            "rename",
            "delete",
            "sync",
            "sync",
            "sync",
            "resolve",
        ]
        if self.hook:
            actions.append("refused")
        if self.disk is not None:
            actions.append("full_disk")
        for _ in range(self.steps):
            actor = self.rng.choice(["ana", "jo", "sam"])
            action = self.rng.choice(actions)
            self.log.append(f"{actor} {action}")
            getattr(self, f"_{action}")(actor)
        self.settle()

    def settle(self, rounds: int = 8) -> None:
        """Everyone syncs and resolves until all agree."""
        for _ in range(rounds):
            for actor in ("ana", "jo", "sam"):
                self._sync(actor, killable=False)
                if actor != "sam":
                    self._resolve(actor, everything=True)
            heads = {self._head(a) for a in ("ana", "jo", "sam")}
            waiting = conflicts.conflict_refs(self.ana) + conflicts.conflict_refs(self.jo)
            remote_head = run_git(self.remote, "rev-parse", "main").stdout.strip()
            if heads == {remote_head} and not waiting:
                return
        raise AssertionError(f"seed {self.seed}: clones did not converge: {self.log}")

    # ------------------------------------------------------------------ checks

    def check(self) -> None:
        remote_head = run_git(self.remote, "rev-parse", "main").stdout.strip()
        trees = {
            a: run_git(self._root(a), "rev-parse", "HEAD^{tree}").stdout.strip()
            for a in ("ana", "jo", "sam")
        }
        assert len(set(trees.values())) == 1, f"seed {self.seed}: trees differ {trees}"
        for actor in ("ana", "jo", "sam"):
            status = run_git(self._root(actor), "status", "--porcelain").stdout
            assert status == "", f"seed {self.seed}: {actor} has uncommitted changes: {status}"
        reachable = set(run_git(self.remote, "rev-list", "main").stdout.split())
        lost = [c for c in self.saved if c not in reachable]
        assert not lost, f"seed {self.seed}: saved versions not in the shared history: {lost}"
        assert remote_head in reachable
        marked = markers_in_history(self.remote)
        assert not marked, f"seed {self.seed}: conflict markers committed: {marked}"
        cut = cut_short_in_history(self.remote)
        assert not cut, f"seed {self.seed}: a piece of a file was committed: {cut}"

    # ------------------------------------------------------------------ helpers

    def _root(self, actor: str) -> Path:
        return self.sam if actor == "sam" else self._ws(actor).root

    def _ws(self, actor: str) -> Workspace:
        return self.ana if actor == "ana" else self.jo

    def _head(self, actor: str) -> str:
        return run_git(self._root(actor), "rev-parse", "HEAD").stdout.strip()

    def _docs(self, actor: str) -> list[str]:
        root = self._root(actor)
        out = run_git(root, "ls-files", "*.md").stdout.split()
        return sorted(p for p in out if not p.startswith(".") and (root / p).is_file())

    def _pick(self, actor: str) -> str | None:
        docs = self._docs(actor)
        if not docs:
            return None
        path = self.rng.choice(docs)
        try:  # a document that is not UTF-8 (refused content not taken out yet): left alone
            (self._root(actor) / path).read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            return None
        return path

    def _title(self) -> str:
        self.counter += 1
        return f"{self.rng.choice(WORDS)} {self.rng.choice(WORDS)} {self.seed}-{self.counter}"

    def _kb_create(self, ws: Workspace, title: str) -> None:
        result = ws.create("runbook", title, tags=[self.rng.choice(WORDS)])
        if result.commit:
            self.saved.append(result.commit)

    def _edit_text(self, actor: str, path: str, change: object, message: str) -> None:
        """Apply ``change(text) -> text`` to a document as this actor saves."""
        root = self._root(actor)
        text = (root / path).read_text(encoding="utf-8")
        new = change(text)  # type: ignore[operator]
        if new == text:
            return
        if actor == "sam":
            (root / path).write_text(new, encoding="utf-8")
            run_git(root, "commit", "-qam", message)
            self.saved.append(self._head("sam"))
        else:
            ws = self._ws(actor)
            from kbapp.documents import model as documents

            doc = documents.parse(new.encode("utf-8"), path)
            try:
                result = ws.save(doc)
            except PolicyError as exc:  # e.g. a refused document not taken out yet
                self.log.append(f"{actor} save refused: {exc}")
                return
            if result.commit:
                self.saved.append(result.commit)

    # ------------------------------------------------------------------ actions

    def _create(self, actor: str) -> None:
        title = self._title()
        if actor == "sam":
            slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
            path = self.sam / "runbooks" / f"{slug}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                f"---\ntitle: {title}\ntype: runbook\nstatus: draft\ntags:\n  - "
                f"{self.rng.choice(WORDS)}\n---\n# {title}\n\n"
                + "".join(f"{s}\n\nText.\n\n" for s in SECTIONS),
                encoding="utf-8",
            )
            run_git(self.sam, "add", "-A")
            run_git(self.sam, "commit", "-qm", f"Create: {title}")
            self.saved.append(self._head("sam"))
        else:
            self._kb_create(self._ws(actor), title)

    def _same_line(self, actor: str) -> None:
        """Everyone rewrites the first line after ## Impact: the classic same-line conflict."""
        path = self._pick(actor)
        if path is None:
            return
        line = f"{actor} says {self.rng.randint(0, 10**6)}"

        def change(text: str) -> str:
            lines = text.split("\n")
            for number, current in enumerate(lines):
                if current.strip() == "## Impact" and number + 2 < len(lines):
                    lines[number + 2] = line
                    return "\n".join(lines)
            return text + f"\n## Impact\n\n{line}\n"

        self._edit_text(actor, path, change, "Update: impact")

    def _section(self, actor: str) -> None:
        path = self._pick(actor)
        if path is None:
            return
        heading = self.rng.choice(SECTIONS)
        note = f"Note from {actor} {self.rng.randint(0, 10**6)}."

        def change(text: str) -> str:
            index = text.find(heading + "\n")
            if index < 0:
                return text + f"\n{heading}\n\n{note}\n"
            end = index + len(heading) + 1
            return text[:end] + f"\n{note}\n" + text[end:]

        self._edit_text(actor, path, change, f"Update: {heading[3:]}")

    def _front_matter(self, actor: str) -> None:
        path = self._pick(actor)
        if path is None:
            return
        kind = self.rng.choice(["tag", "status", "reviewed", "owner"])
        if actor != "sam":
            ws = self._ws(actor)
            doc = ws.load(path)
            if doc.front_matter_error is not None:
                return
            if kind == "tag":
                doc.set("tags", doc.tags + [f"{self.rng.choice(WORDS)}{self.rng.randint(0, 99)}"])
            elif kind == "status":
                doc.set("status", self.rng.choice(STATUSES))
            elif kind == "reviewed":
                doc.set_review(
                    last_reviewed=f"2026-{self.rng.randint(1, 12):02d}-"
                    f"{self.rng.randint(1, 28):02d}",
                    reviewed_by=PEOPLE[actor].user_email,
                )
            else:
                doc.set(
                    "owner_org",
                    self.rng.choice(["internal", "partner"]) + str(self.rng.randint(0, 3)),
                )
            try:
                result = ws.save(doc)
            except PolicyError as exc:
                self.log.append(f"{actor} save refused: {exc}")
                return
            if result.commit:
                self.saved.append(result.commit)
            return

        def change(text: str) -> str:
            if not text.startswith("---\n"):
                return text
            end = text.find("\n---\n", 4)
            front, rest = text[: end + 1], text[end + 1 :]
            if kind == "tag" and "\ntags:\n" in front:
                front = front.replace(
                    "\ntags:\n", f"\ntags:\n  - sam{self.rng.randint(0, 99)}\n", 1
                )
            elif kind == "status" and re.search(r"^status: .*$", front, re.M):
                front = re.sub(
                    r"^status: .*$",
                    f"status: {self.rng.choice(STATUSES)}",
                    front,
                    count=1,
                    flags=re.M,
                )
            else:
                front = re.sub(r"^owner_org: .*\n", "", front, flags=re.M)
                front += f"owner_org: partner{self.rng.randint(0, 3)}\n"
            return front + rest

        self._edit_text(actor, path, change, "Update: front matter")

    def _rename(self, actor: str) -> None:
        path = self._pick(actor)
        if path is None:
            return
        new = f"moved/{self.rng.randint(0, 10**6)}-{Path(path).name}"
        if actor == "sam":
            (self.sam / "moved").mkdir(exist_ok=True)
            run_git(self.sam, "mv", path, new)
            run_git(self.sam, "commit", "-qm", f"Move: {path}")
            self.saved.append(self._head("sam"))
        else:
            result = self._ws(actor).move(path, new)
            if result.commit:
                self.saved.append(result.commit)

    def _delete(self, actor: str) -> None:
        if self.rng.random() < 0.5:  # deletions are rarer than edits
            return
        path = self._pick(actor)
        if path is None:
            return
        if actor == "sam":
            run_git(self.sam, "rm", "-q", path)
            run_git(self.sam, "commit", "-qm", f"Delete: {path}")
            self.saved.append(self._head("sam"))
        else:
            ws = self._ws(actor)
            (ws.root / path).unlink()
            commit = ws.git.commit([path], f"Delete: {path}", trailers=ws.trailers())
            if commit:
                self.saved.append(commit)
            ws.refresh_paths([path])

    def _resolve(self, actor: str, everything: bool = False) -> None:
        if actor == "sam":
            return
        ws = self._ws(actor)
        for conflict in conflicts.list_conflicts(ws):
            if not everything and self.rng.random() < 0.5:
                continue
            choice = self.rng.choice(["mine", "theirs"])
            if choice == "mine":
                text = None if conflict.mine_deleted else conflict.mine
            else:
                text = None if conflict.theirs_deleted else conflict.theirs
            try:
                result = conflicts.resolve(ws, conflict.path, text=text)
            except SaveError as exc:
                if exc.reason != "changed-on-disk":
                    raise
                # An edit on disk since the conflict was kept (a refused file taken out and
                # fixed, not synced yet): kbapp will not write over it; the user keeps the
                # file as it is now, as the message says.
                self.log.append(f"{actor} resolve refused over an edit: {exc}")
                disk = (ws.root / conflict.path).read_text(encoding="utf-8")
                result = conflicts.resolve(ws, conflict.path, text=disk)
            if result.commit:
                self.saved.append(result.commit)

    def _sync(self, actor: str, killable: bool = True) -> None:
        if actor == "sam":
            self._sam_sync()
            return
        ws = self._ws(actor)
        if killable and self.rng.random() < self.kill_rate:
            self._killed_sync(actor)
            return
        before = set(conflicts.conflict_refs(ws))
        try:
            with self._pushing_as(actor):
                report = sync.sync(ws)
        except refused.RefusedError as exc:
            self.syncs += 1
            self._take_out(actor, exc)
            return
        self.syncs += 1
        assert not report.offline, report.message
        self.conflicts_met += len(set(conflicts.conflict_refs(ws)) - before)

    # ------------------------------------------------------------------ refused pushes

    #: what the hook refuses, by kind: (path, bytes committed, the fixed text)
    _REFUSED: ClassVar[dict[str, tuple[str, bytes, str]]] = {
        "secret": (
            "scripts/env-{n}.sh",
            b"export PGPASSWORD=s3cr3t-Value{n}\n",
            "export PGPASSWORD=$(vault read db/{n})\n",
        ),
        "encoding": (
            "notes/latin-{n}.md",
            b"# Caf\xe9 {n}\n\nNot UTF-8.\n",
            "# Cafe {n}\n\nUTF-8 now.\n",
        ),
        "status": (
            "runbooks/bad-status-{n}.md",
            b"---\ntitle: Bad status {n}\nstatus: finished\n---\n# Bad status {n}\n",
            "---\ntitle: Bad status {n}\nstatus: draft\n---\n# Bad status {n}\n",
        ),
        "huge": (
            "runbooks/huge-{n}.md",
            b"---\ntitle: Huge {n}\nreview:\n  interval_days: 99999999999999999999999\n"
            b"---\n# Huge {n}\n",
            "---\ntitle: Huge {n}\nreview:\n  interval_days: 90\n---\n# Huge {n}\n",
        ),
    }

    def _refused(self, actor: str) -> None:
        """A script (or a hand commit with plain git) puts into a kbapp clone what the shared
        repository's hook refuses, bypassing kbapp's checks."""
        if actor == "sam":
            return  # a plain-git partner sees the hook's answer and rewrites by hand
        kind = self.rng.choice(sorted(self._REFUSED))
        self.counter += 1
        template, data, _fixed = self._REFUSED[kind]
        path = template.format(n=self.counter)
        root = self._root(actor)
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data.replace(b"{n}", str(self.counter).encode()))
        run_git(root, "add", "--", path)
        run_git(root, "commit", "-q", "--no-verify", "-m", f"Script: {kind}")
        self.log.append(f"{actor} committed refused content ({kind}) in {path}")

    def _take_out(self, actor: str, exc: refused.RefusedError) -> None:
        """The way out: take the refused files out of the unpublished commits, fix them."""
        ws = self._ws(actor)
        report = refused.drop_refused(ws)
        assert not report.left_unfixed, report.message
        assert report.paths, f"seed {self.seed}: refused ({exc}) but nothing to take out"
        self.saved = [report.replaced.get(c, c) for c in self.saved]
        for path in report.paths:
            target = ws.root / path
            if not target.exists():
                continue
            name = Path(path).name
            number = (re.findall(r"(\d+)\.\w+$", name) or ["0"])[0]
            fixed = next(
                (
                    t[2]
                    for t in self._REFUSED.values()
                    if name.endswith(Path(t[0]).name.format(n=number))
                ),
                "# Fixed {n}\n\nNothing secret.\n",
            )
            target.write_text(fixed.format(n=number), encoding="utf-8")
        self.refusals += 1
        self.log.append(f"{actor} took {report.paths} out of {report.rewritten} commits")

    # ------------------------------------------------------------------ full disk

    def _full_disk(self, actor: str) -> None:
        """Ana's disk fills up, then she saves or syncs; afterwards space is freed and kbapp
        starts again. Either the step worked, or it failed with a message; the invariants
        (nothing lost, no piece of a file published) are checked at the end."""
        if self.disk is None:
            return
        free = self.rng.choice([0, 4, 8, 16, 32, 64, 128, 256]) * 1024
        operation = self.rng.choice(["section", "front_matter", "sync", "sync"])
        filler = self.disk / ".filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for chunk in (1 << 20, 1 << 16, 1 << 12):
                try:
                    while True:
                        os.write(fd, b"\0" * chunk)
                except OSError:
                    pass
        finally:
            os.close(fd)
        os.truncate(filler, max(0, filler.stat().st_size - free))
        self.full_moments += 1
        try:
            if operation == "sync":
                self._sync("ana", killable=False)
            else:
                getattr(self, f"_{operation}")("ana")
        except KbError as exc:
            self.full_failures += 1
            self.log.append(f"ana {operation} on a full disk ({free} bytes free): {exc}")
        finally:
            filler.unlink(missing_ok=True)
        self.ana.close()
        self.ana = Workspace.open(self.ana.root, PEOPLE["ana"])

    def _killed_sync(self, actor: str) -> None:
        """A real ``kbapp sync`` process killed at a checkpoint or a random moment, then the
        next start of kbapp (a new Workspace) that repairs."""
        ws = self._ws(actor)
        root = ws.root
        env = dict(os.environ, **self._pusher_env(actor))
        point = self.rng.choice([*sync.CHECKPOINTS, "timer", "timer"])
        if point != "timer":
            env["KBAPP_SYNC_CRASH_AT"] = point
        process = subprocess.Popen(
            [sys.executable, "-m", "kbapp", "--kb", str(root), "--quiet", "sync", "--json"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if point == "timer":
            time.sleep(self.rng.uniform(0.6, 1.6))
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        code = process.wait(timeout=120)
        self.syncs += 1
        if code == -signal.SIGKILL:
            self.kills += 1
        self.log.append(f"{actor} sync killed at {point} (exit {code})")
        ws.close()
        reopened = Workspace.open(root, PEOPLE[actor])
        if actor == "ana":
            self.ana = reopened
        else:
            self.jo = reopened

    def _sam_sync(self) -> None:
        """The plain-git partner: pull (merge, with kbapp's driver), settle conflicts by
        taking a side, push; a rejected push waits for the next pull."""
        pulled = run_git(
            self.sam, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main", check=False
        )
        if pulled.returncode != 0:
            unmerged: dict[str, set[int]] = {}
            for line in run_git(self.sam, "ls-files", "-u").stdout.splitlines():
                info, path = line.split("\t", 1)
                unmerged.setdefault(path, set()).add(int(info.split()[2]))
            if not unmerged:
                raise AssertionError(f"seed {self.seed}: sam's pull failed: {pulled.stderr}")
            self.plain_conflicts += len(unmerged)
            for path, _stages in unmerged.items():
                # a careful engineer takes one side's file as that side committed it (for
                # rename conflicts git's own stages can hold a two-way merge with markers)
                commit = self.rng.choice(["HEAD", "MERGE_HEAD"])
                shown = subprocess.run(
                    ["git", "show", f"{commit}:{path}"], cwd=self.sam, capture_output=True
                )
                if shown.returncode == 0:
                    (self.sam / path).parent.mkdir(parents=True, exist_ok=True)
                    (self.sam / path).write_bytes(shown.stdout)
                    run_git(self.sam, "add", "--", path)
                else:
                    run_git(self.sam, "rm", "-q", "--cached", "--", path)
                    (self.sam / path).unlink(missing_ok=True)
            run_git(self.sam, "commit", "-q", "--no-edit")
            self.saved.append(self._head("sam"))
        pushed = subprocess.run(
            ["git", "push", "-q", "origin", "HEAD:main"],
            cwd=self.sam,
            env=dict(os.environ, **self._pusher_env("sam")),
            capture_output=True,
            text=True,
            check=False,
        )
        if pushed.returncode != 0 and "[pusher-identity]" in pushed.stderr:
            raise AssertionError(f"seed {self.seed}: sam's merge refused: {pushed.stderr}")

    def _pusher_env(self, actor: str) -> dict[str, str]:
        """What a server that knows who pushed tells the hook."""
        if not self.pushers:
            return {}
        email = SAM_EMAIL if actor == "sam" else PEOPLE[actor].user_email
        return {"KBAPP_PUSHER_EMAIL": email}

    @contextmanager
    def _pushing_as(self, actor: str) -> Iterator[None]:
        """An in-process sync's ``git push`` runs with this process's environment."""
        saved = os.environ.get("KBAPP_PUSHER_EMAIL")
        os.environ.update(self._pusher_env(actor))
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("KBAPP_PUSHER_EMAIL", None)
            else:
                os.environ["KBAPP_PUSHER_EMAIL"] = saved


def markers_in_history(repo: Path) -> list[str]:
    """Every (commit-reachable) Markdown blob of ``repo`` that contains a conflict marker."""
    objects = run_git(repo, "rev-list", "--objects", "--all").stdout.splitlines()
    blobs = {}
    for line in objects:
        sha, _, path = line.partition(" ")
        if path.endswith(".md"):
            blobs[sha] = path
    if not blobs:
        return []
    batch = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=repo,
        input=("\n".join(blobs) + "\n").encode(),
        capture_output=True,
        check=True,
    ).stdout
    found = []
    offset = 0
    while offset < len(batch):
        header_end = batch.index(b"\n", offset)
        sha, _kind, size = batch[offset:header_end].decode().split()
        body = batch[header_end + 1 : header_end + 1 + int(size)]
        offset = header_end + 1 + int(size) + 1
        if conflict_marker_line(body.decode("utf-8", errors="replace")) is not None:
            found.append(f"{blobs[sha]} ({sha[:10]})")
    return found


def cut_short_in_history(repo: Path) -> list[str]:
    """Markdown blobs in ``repo``'s history that do not end with a newline: every writer in
    the simulation ends its files with one, so such a blob is a write cut short."""
    objects = run_git(repo, "rev-list", "--objects", "--all").stdout.splitlines()
    found = []
    for line in objects:
        sha, _, path = line.partition(" ")
        if path.endswith(".md"):
            data = subprocess.run(
                ["git", "cat-file", "blob", sha], cwd=repo, capture_output=True, check=True
            ).stdout
            if data and not data.endswith(b"\n"):
                found.append(f"{path} ({sha[:10]})")
    return found
