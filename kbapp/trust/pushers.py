"""Who pushed, as the server says: the variables servers set for their hooks, and the
``[pushers]`` file of the bare repository for servers that give a user name only."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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
