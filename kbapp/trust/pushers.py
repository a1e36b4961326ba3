"""Who pushed, as the server says: the variables servers set for their hooks, and the
``[pushers]`` file of the bare repository for servers that give a user name only."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kbapp.config import CONFIG_PATH, KbConfig
from kbapp.sync.git import Git
from kbapp.trust import policy

#: Where a server puts the authenticated pusher's e-mail: kbapp's own (an SSH forced command
#: or a wrapper sets it), Gitea's and Forgejo's.
PUSHER_VARIABLES = ("KBAPP_PUSHER_EMAIL", "GITEA_PUSHER_EMAIL")
#: Where a server puts the authenticated pusher's *user name* (no e-mail): GitLab's server
#: hooks, gitolite, git http-backend behind a web server's login. kbapp maps the name to an
#: e-mail with :data:`PUSHERS_FILE`.
USER_VARIABLES = ("GL_USERNAME", "GL_USER", "REMOTE_USER")
#: In the bare repository (the server's side: no push can change it): ``[pushers]`` user name
#: = e-mail, for servers that give a user name.
PUSHERS_FILE = "kbapp-pushers.toml"


#: User-name variables whose server compares user names without regard to case (GitLab: a
#: user name is unique case-insensitively, ``Sam`` and ``sam`` are one account). Everywhere
#: else (gitolite, a web server's login) ``Sam`` and ``sam`` may be two accounts: exact only.
CASELESS_USER_VARIABLES = ("GL_USERNAME",)


@dataclass(frozen=True)
class Pusher:
    """Who the server says pushed: ``email`` ('' when unknown) and, when it is unknown, why;
    ``said`` is how the server said it (``'sam@corp.example (KBAPP_PUSHER_EMAIL)'``, ``'user
    newhire (GL_USERNAME)'``), '' when it says nothing."""

    email: str
    problem: str = ""
    said: str = ""

    @property
    def named(self) -> bool:
        """The server named the pusher (by e-mail or user name), whether kbapp can place them
        in an organisation or not: then the commits' own claims no longer count."""
        return bool(self.said)


def pusher(git_dir: Path, environ: Mapping[str, str]) -> Pusher:
    """The authenticated pusher, from what the server sets for its hooks (never from the
    commits, which the pusher writes)."""
    for variable in PUSHER_VARIABLES:
        email = environ.get(variable, "").strip()
        if email:
            return Pusher(email, said=f"{email} ({variable})")
    for variable in USER_VARIABLES:
        user = environ.get(variable, "").strip()
        if user:
            said = f"user {user} ({variable})"
            table = pushers_map(git_dir)
            email = _mapped(table, user, caseless=variable in CASELESS_USER_VARIABLES)
            if email:
                return Pusher(email, said=f"{email}, {said}")
            near = [name for name in table if name.casefold() == user.casefold()]
            hint = (
                f" (it maps {', '.join(repr(n) for n in near)}; {variable} user names are "
                "compared exactly, add the name as the server gives it if it is the same account)"
                if near
                else ""
            )
            return Pusher(
                "",
                f"the server says {user} pushed ({variable}), and {PUSHERS_FILE} gives no "
                f"e-mail for them{hint}",
                said,
            )
    return Pusher("", "the server does not say who pushed (KBAPP_PUSHER_EMAIL is not set)")


def _mapped(table: Mapping[str, str], user: str, *, caseless: bool) -> str:
    """The e-mail ``table`` gives ``user``: the name as written; for a server that compares
    names without case, the one entry that matches so (two that disagree: none)."""
    if user in table:
        return table[user]
    if not caseless:
        return ""
    found = {email for name, email in table.items() if name.casefold() == user.casefold()}
    return found.pop() if len(found) == 1 else ""


def pushers_map(git_dir: Path) -> dict[str, str]:
    """``[pushers]`` of :data:`PUSHERS_FILE` in the bare repository: user name -> e-mail."""
    try:
        data = tomllib.loads((git_dir / PUSHERS_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    table = data.get("pushers")
    if not isinstance(table, dict):
        return {}
    return {str(user): str(email) for user, email in table.items() if isinstance(email, str)}


UNKNOWN_PUSHER_NOTE = (
    "kbapp: note: {problem}; protected paths are judged by the committer e-mail the commits "
    "claim, which the pusher writes. The server administrator can fix this: see "
    "docs/security.md, 'Who pushed'."
)
#: Printed when the server names the pusher but kbapp cannot place them in an organisation.
UNPLACED_PUSHER_NOTE = (
    "kbapp: note: {problem}; until it is mapped, such pushes may change no protected path and "
    "add no commit that claims an organisation. See docs/security.md, 'Who pushed'."
)


_TRAILER_RE = re.compile(r"^KB-Org:[ \t]*(\S+)[ \t]*$", re.M)


@dataclass(frozen=True)
class PushedBy:
    """Who the server says pushed, placed by one branch's rules: ``org`` is '' when the
    e-mail's domain is in no organisation or the user name maps to no e-mail, and then
    ``unplaced`` says so (for the messages). Such a pusher changes no protected path."""

    said: str
    org: str
    unplaced: str = ""

    @classmethod
    def place(cls, who: Pusher, config: KbConfig) -> PushedBy | None:
        """None when the server does not say who pushed (the commits' claims count then)."""
        if not who.named:
            return None
        org = config.org_for_email(who.email) if who.email else ""
        if org:
            return cls(who.said, org)
        if who.email:
            why = (
                f"the server says {who.said} pushed, and that e-mail's domain is in no "
                f"organisation of {CONFIG_PATH} (the owner can add the domain to the "
                "organisation's domains; or give the account its work address)"
            )
        else:
            why = (
                f"the server says {who.said} pushed, and {PUSHERS_FILE} maps that user to no "
                "e-mail (map it: kbapp server-hook install REPO --pushers FILE)"
            )
        return cls(who.said, "", why)


@dataclass(frozen=True)
class _Claims:
    """What a commit says about who made it (all written by the pusher)."""

    committer: str  # e-mail
    committer_org: str
    author: str  # e-mail
    author_org: str
    #: Every ``KB-Org`` trailer value: as git parses trailers (kbapp's history, audit and sync
    #: report read them so) and any ``KB-Org:`` line of the message.
    trailers: tuple[str, ...]
    body: str

    @property
    def org(self) -> str:
        """The organisation the commit claims when the server does not say who pushed: the
        committer's e-mail domain, else the (last) trailer."""
        return self.committer_org or (self.trailers[-1] if self.trailers else "")

    def naming(self, pusher_org: str) -> list[str]:
        """The claims that name another organisation than ``pusher_org`` ('' : any)."""
        found = []
        for what, org in (
            (f"committer {self.committer}", self.committer_org),
            (f"author {self.author}", self.author_org),
            *(("KB-Org trailer", trailer) for trailer in self.trailers),
        ):
            claim = f"{what} says '{org}'"
            if org and org != pusher_org and claim not in found:
                found.append(claim)
        return found


def _commit_claims(git: Git, commit: str, config: KbConfig) -> _Claims:
    fields = git.out(
        "show",
        "-s",
        "--format=%ce%x00%ae%x00%(trailers:key=KB-Org,valueonly,separator=%x1f)%x00%B",
        commit,
    ).split("\0", 3)
    committer, author, parsed, body = (fields + ["", "", "", ""])[:4]
    trailers: list[str] = []
    for value in [*parsed.split("\x1f"), *_TRAILER_RE.findall(body)]:
        value = value.strip()
        if value and value not in trailers:
            trailers.append(value)
    return _Claims(
        committer,
        config.org_for_email(committer),
        author,
        config.org_for_email(author),
        tuple(trailers),
        body,
    )


def _pusher_claims(claims: _Claims, pushed_by: PushedBy) -> list[policy.Violation]:
    """A new commit names no other organisation than its pusher's (adversarial finding A2):
    its committer, author and ``KB-Org`` trailer are what kbapp's history, audit and sync
    report show, and the pusher writes them. A commit already on the server (the other side's
    work a merge brings along) is not new and never gets here."""
    naming = claims.naming(pushed_by.org)
    if not naming:
        return []
    if pushed_by.org:
        who = f"the server says {pushed_by.said} pushed it, of organisation '{pushed_by.org}'"
    else:
        who = pushed_by.unplaced
    return [
        policy.Violation(
            "(commit)",
            0,
            "pusher-identity",
            f"this new commit claims another organisation ({'; '.join(naming)}): {who}. "
            "Commit under your own name (git commit --amend --reset-author; for several "
            "commits git rebase --exec 'git commit --amend --no-edit --reset-author') and "
            "push again",
        )
    ]
