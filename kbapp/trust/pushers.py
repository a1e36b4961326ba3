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


@dataclass(frozen=True)
class Pusher:
    """Who the server says pushed: ``email`` ('' when unknown) and, when it is unknown, why."""

    email: str
    problem: str = ""


def pusher(git_dir: Path, environ: Mapping[str, str]) -> Pusher:
    """The authenticated pusher, from what the server sets for its hooks (never from the
    commits, which the pusher writes)."""
    for variable in PUSHER_VARIABLES:
        if environ.get(variable):
            return Pusher(environ[variable].strip())
    for variable in USER_VARIABLES:
        user = environ.get(variable, "").strip()
        if user:
            email = pushers_map(git_dir).get(user, "")
            if email:
                return Pusher(email)
            return Pusher(
                "",
                f"the server says {user} pushed ({variable}), and {PUSHERS_FILE} gives no "
                "e-mail for them",
            )
    return Pusher("", "the server does not say who pushed (KBAPP_PUSHER_EMAIL is not set)")


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
