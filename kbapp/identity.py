"""Who the user is, once: the name, e-mail and organisation every commit carries.

kbapp's own settings come first (``user_name``, ``user_email``, ``organisation``); what they
leave empty comes from git's configuration (repository, then global), exactly as git itself
would read it (:func:`kbapp.sync.git.git_identity`). git is never allowed to make an identity up
from the login and host name. When neither says who the user is, nothing is changed: the
window asks (its first-run dialog), the command line stops with :data:`MISSING`.
"""

from __future__ import annotations

from pathlib import Path

from kbapp.config import KbConfig
from kbapp.errors import IdentityMissing, KbError
from kbapp.settings import Settings
from kbapp.sync.git import GitIdentity, Identity, git_identity

#: The one sentence the command line prints when nobody is known (names both commands).
MISSING = (
    "no name or e-mail to sign your changes with yet (git has no identity either); give them once "
    "with 'kbapp settings user_name \"Your Name\"' and 'kbapp settings user_email "
    "you@example.org'"
)

#: Settings that change who commits.
KEYS = ("user_name", "user_email", "organisation")


def resolve(settings: Settings, config: KbConfig | None, root: Path | None) -> tuple[Identity, str]:
    """The identity to commit with in the work tree ``root`` (``None``: outside any
    repository) and, when there is none, git's reason. kbapp's settings come first, completed
    from git's configuration; the organisation is the one set, else the one whose e-mail
    domain matches (empty when unknown). An identity git would refuse is no identity: its
    name and e-mail are left empty, so nothing commits with it."""
    found = probe(settings, root)
    if found.problem:
        return Identity("", "", settings.organisation), found.problem
    org = settings.organisation or (config.org_for_email(found.email) if config else "")
    return Identity(found.name, found.email, org), ""


def probe(settings: Settings, root: Path | None) -> GitIdentity:
    """What git makes of kbapp's settings in ``root``; ``problem`` is set when no complete
    identity results (git's own reason: "no email was given ...")."""
    try:
        return git_identity(root, settings.user_name, settings.user_email)
    except KbError as exc:  # git missing: say so where the identity is needed
        return GitIdentity(settings.user_name, settings.user_email, str(exc))


def missing(problem: str = "") -> IdentityMissing:
    """The error for "nobody is known"; git's reason in its details when it says more than
    that (a name git refuses, for instance)."""
    plain = problem.startswith(("no email was given", "no name was given", "unable to auto"))
    return IdentityMissing(MISSING, details="" if plain else problem)


def check(name: str, email: str, root: Path | None) -> str:
    """Whether git accepts ``name`` and ``email`` as typed into a form: "" when it does, else
    one sentence saying what is wrong (git refuses a name of dots, for instance)."""
    name, email = name.strip(), email.strip()
    if not name:
        return "Give your name as your colleagues know it."
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        return "Give your work e-mail address (name@example.org)."
    try:
        found = git_identity(root, name, email)
    except KbError as exc:  # git itself is missing
        return str(exc)
    if found.problem:
        return f"git does not accept this: {found.problem}"
    return ""
