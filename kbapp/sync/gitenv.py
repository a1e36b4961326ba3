"""The environment every git call runs in: no pager, no prompts, C locale (:data:`_BASE_ENV`),
how a network operation may ask for credentials (:class:`Prompting`, :func:`network_env`), who
commits (:class:`Identity`, :func:`git_identity`) and git's mailmap reading kept off. Part of
the git gateway (:mod:`kbapp.sync.git`, which re-exports it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kbapp.errors import SyncError
from kbapp.sync.giterrors import _first_error_line

#: Environment for every git call: never wait on a terminal prompt or a pager.
_BASE_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "LC_ALL": "C",
    "LANGUAGE": "C",
    "GIT_EDITOR": "true",
    "GIT_MERGE_AUTOEDIT": "no",
    "GCM_INTERACTIVE": "never",
    "SSH_ASKPASS": "",
    "GIT_ASKPASS": "",
}


@dataclass(frozen=True)
class Prompting:
    """How git and ssh may ask for a credential (a user name and password or token, a key's
    passphrase, a new host key) during a network operation.

    - ``askpass`` (the window): git and ssh run that program (``GIT_ASKPASS``, ``SSH_ASKPASS``
      with ``SSH_ASKPASS_REQUIRE=force``), which asks the window (:mod:`kbapp.sync.askpass`);
      ``env`` tells it where the window listens.
    - ``terminal`` (the CLI in a terminal): git and ssh prompt on the terminal, as plain git does.
    - neither (the default; the CLI without a terminal, scripts, cron): nothing is asked, a
      missing credential fails at once with a clear message instead of hanging.

    Whatever answers, git's own credential helper (``credential.helper``) stores what worked;
    kbapp never stores a credential.
    """

    askpass: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    terminal: bool = False

    @classmethod
    def for_console(cls) -> Prompting:
        """The CLI's: prompt on the terminal when there is one, never otherwise."""
        try:
            interactive = sys.stdin is not None and sys.stdin.isatty()
        except (ValueError, OSError):
            interactive = False
        return cls(terminal=interactive)


NO_PROMPTS = Prompting()


@dataclass(frozen=True)
class Identity:
    """Who commits: from the user's settings, else from git's own configuration.

    Every git command kbapp runs gets it as ``-c user.name=… -c user.email=…`` (see
    :meth:`config_args`), so commits, merge commits and ``commit-tree`` all carry it without
    touching anyone's git configuration."""

    name: str
    email: str
    org: str = ""

    @property
    def known(self) -> bool:
        """Both a name and an e-mail: enough for git to commit."""
        return bool(self.name.strip() and self.email.strip())

    def config_args(self) -> list[str]:
        """``git -c`` options: the name and e-mail when set; and git never makes one up from
        the login and host name (``user.useConfigOnly``), it asks, as kbapp does."""
        args = ["-c", "user.useConfigOnly=true"]
        if self.name.strip():
            args += ["-c", f"user.name={_one_line(self.name)}"]
        if self.email.strip():
            args += ["-c", f"user.email={_one_line(self.email)}"]
        return args

    def env(self) -> dict[str, str]:
        """Extra environment for git (none here; the demo dates its commits with it)."""
        return {}


#: A ``.mailmap`` is a file of the shared repository, so the other organisation can write it:
#: one line maps its own e-mail address to an internal engineer's name and address, and every
#: mailmap-aware answer (``%aN``, ``%aE``, ``log --use-mailmap``, ``log.mailmap``, a bare
#: repository's ``HEAD:.mailmap``) then names the wrong person. kbapp reads who made a change
#: as the commit records it: git's own mailmap reading is off for every command it runs.
_NO_MAILMAP = ("-c", "log.mailmap=false", "-c", "mailmap.file=", "-c", "mailmap.blob=")
#: kbapp reads git's output as UTF-8, whatever the user's git configuration says.
_UTF8_OUTPUT = ("-c", "i18n.logOutputEncoding=UTF-8")
#: Commands that write commits (or tags): kbapp's are UTF-8 whatever the user's git says, since
#: the shared repository refuses a commit with an ``encoding`` header other than UTF-8 (git
#: re-encodes its text for display: :mod:`kbapp.trust.object_rules`). Other commands (``git
#: config`` above all) see the user's own setting.
_COMMIT_VERBS = frozenset(
    {"commit", "commit-tree", "merge", "rebase", "cherry-pick", "revert", "am", "stash", "tag"}
)
_UTF8_COMMITS = ("-c", "i18n.commitEncoding=UTF-8")


def _encoding_options(args: Sequence[str]) -> tuple[str, ...]:
    """The ``-c`` options that keep what ``git <args>`` writes and prints in UTF-8."""
    index = 0
    while index < len(args) and args[index].startswith("-"):
        index += 2 if args[index] == "-c" else 1
    verb = args[index] if index < len(args) else ""
    return _UTF8_OUTPUT + (_UTF8_COMMITS if verb in _COMMIT_VERBS else ())


_MAILMAP_PLACEHOLDER_RE = re.compile(r"%[ac][NEL]")


def _refuse_mailmap(args: Sequence[str]) -> None:
    """A programming error, caught in tests: a git command of kbapp asking for mailmap-aware
    names (``%aN``/``%aE``/``%aL``, ``%cN``...) or ``--use-mailmap`` (see :data:`_NO_MAILMAP`)."""
    for arg in args:
        if arg in ("--use-mailmap", "--mailmap") or (
            arg.startswith(("--format=", "--pretty=")) and _MAILMAP_PLACEHOLDER_RE.search(arg)
        ):
            raise ValueError(f"kbapp never asks git for mailmap-aware identities: {arg}")


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class GitIdentity:
    """What git makes of an identity in a repository (see :func:`git_identity`)."""

    name: str
    email: str
    #: git's own words when it has no complete identity ("no email was given ..."), else "".
    problem: str = ""


_IDENT_RE = re.compile(r"^(?P<name>.*) <(?P<email>[^<>]*)> \d+ [+-]\d{4}$")


def git_identity(root: Path | None, name: str = "", email: str = "") -> GitIdentity:
    """Who git would commit as in the work tree ``root`` (``None``: outside any repository,
    the user's own git configuration only), given kbapp's ``name`` and ``email`` (either may be
    empty; git's configured value then fills in). git decides, with ``git var``, exactly as it
    would for a commit; when it cannot, ``problem`` says why and ``name``/``email`` hold what
    git has configured (to prefill a form)."""
    env = dict(os.environ)
    env.update(_BASE_ENV)
    if root is None:  # never the repository the process happens to run in
        env["GIT_DIR"] = str(Path(tempfile.gettempdir()) / "kbapp-no-repository")
    cwd = str(root) if root is not None else None

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                ["git", *args],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except FileNotFoundError:
            raise SyncError("git is not installed or not on PATH") from None

    done = git(*Identity(name, email).config_args(), "var", "GIT_COMMITTER_IDENT")
    match = _IDENT_RE.match(done.stdout.strip()) if done.returncode == 0 else None
    if match:
        return GitIdentity(match["name"], match["email"])
    configured = {
        key: git("config", "--get", f"user.{key}").stdout.strip() for key in ("name", "email")
    }
    problem = _first_error_line(done.stderr, ["var"]).removeprefix("git var: ")
    return GitIdentity(
        name.strip() or configured["name"], email.strip() or configured["email"], problem
    )


def network_env(prompting: Prompting = NO_PROMPTS, *, own_ssh: bool = False) -> dict[str, str]:
    """Environment for git talking to a remote, following ``prompting`` (:class:`Prompting`).

    ssh gives up on a dead host after 20 s and, when nothing may be asked, never asks
    (``BatchMode``). A user's own ssh command (``GIT_SSH_COMMAND``, ``GIT_SSH``, or
    ``core.sshCommand``: ``own_ssh``) is left as it is."""
    from kbapp.sync import askpass

    env: dict[str, str] = {}
    if prompting.askpass:
        env.update(
            {
                "GIT_ASKPASS": prompting.askpass,
                "SSH_ASKPASS": prompting.askpass,
                # OpenSSH >= 8.4 asks through askpass even with a terminal; older ssh do when
                # the desktop session has a DISPLAY
                "SSH_ASKPASS_REQUIRE": "force",
                "GIT_TERMINAL_PROMPT": "0",
                "GCM_INTERACTIVE": os.environ.get("GCM_INTERACTIVE", "auto"),
            }
        )
        env.update(prompting.env)
        ssh = "ssh -o ConnectTimeout=20"
    elif prompting.terminal:
        env.update(
            {
                "GIT_ASKPASS": os.environ.get("GIT_ASKPASS", ""),
                "SSH_ASKPASS": os.environ.get("SSH_ASKPASS", ""),
                "GIT_TERMINAL_PROMPT": "1",
                "GCM_INTERACTIVE": os.environ.get("GCM_INTERACTIVE", "auto"),
            }
        )
        ssh = "ssh -o ConnectTimeout=20"
    else:
        env.update({askpass.ADDRESS_ENV: "", askpass.TOKEN_ENV: ""})
        ssh = "ssh -o BatchMode=yes -o ConnectTimeout=20"
    if not (own_ssh or os.environ.get("GIT_SSH_COMMAND") or os.environ.get("GIT_SSH")):
        env["GIT_SSH_COMMAND"] = ssh
    return env
