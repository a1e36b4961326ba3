"""Git hooks that run kbapp's commit policy where kbapp itself is not the one committing.

- ``kbapp hooks install``: a ``pre-commit`` hook in a clone, for people on plain git; it runs
  ``kbapp policy-check --staged``, the same checks :meth:`Workspace.save` runs (secrets,
  sensitivity, conflict markers) on what is about to be committed.
- ``kbapp server-hook install BARE``: a ``pre-receive`` hook in the shared bare repository; it
  runs ``kbapp server-hook pre-receive`` (:mod:`kbapp.trust.serverhook`).

Each hook is a small shell script calling the Python that installed it, so it keeps working in
the virtual environment kbapp lives in; it runs ``python -m kbapp.hooks NAME`` (the same code as
the CLI commands, without loading the catalog and the rest of the CLI, so a commit or a push
waits a fraction of a second). A hook that is not kbapp's is never overwritten without
``--force``.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import kbapp
from kbapp.config import CONFIG_PATH, KbConfig, config_from_dict, load_config
from kbapp.errors import ConfigError, KbError
from kbapp.fsutil import atomic_write
from kbapp.interaction import terminal_safe
from kbapp.sync.git import Git, find_root
from kbapp.trust import object_rules, policy
from kbapp.trust.secrets import ALLOW_MARKER

MARKER = "# installed by kbapp"


def _script(hook: str) -> str:
    python = shlex.quote(sys.executable)
    # Where this kbapp is importable from (site-packages, or a source checkout).
    package_parent = shlex.quote(str(Path(kbapp.__file__).resolve().parent.parent))
    return (
        "#!/bin/sh\n"
        f"{MARKER}: the knowledge base's commit policy (see docs/security.md)\n"
        f"PYTHONPATH={package_parent}${{PYTHONPATH:+:$PYTHONPATH}}\n"
        "export PYTHONPATH\n"
        f'exec {python} -m kbapp.hooks {hook} "$@"\n'
    )


def _install(hook: Path, force: bool) -> Path:
    if (
        hook.exists()
        and MARKER not in hook.read_text(encoding="utf-8", errors="replace")
        and not force
    ):
        raise KbError(
            f"{hook} exists and is not kbapp's; add '{sys.executable} -m kbapp.hooks {hook.name}' "
            "to it, or run again with --force to replace it"
        )
    atomic_write(hook, _script(hook.name).encode("utf-8"))
    hook.chmod(0o755)
    return hook


def install_pre_commit(git: Git, force: bool = False) -> Path:
    """Install the pre-commit hook (and the commit-msg hook that scans the message for
    secrets) in the clone ``git`` works on (honours core.hooksPath)."""
    hooks_dir = Path(git.out("rev-parse", "--git-path", "hooks"))
    if not hooks_dir.is_absolute():
        hooks_dir = git.root / hooks_dir
    hook = _install(hooks_dir / "pre-commit", force)
    _install(hooks_dir / "commit-msg", force)
    return hook


def install_pre_receive(bare: Path, force: bool = False, pushers: Path | None = None) -> Path:
    """Install the pre-receive hook in the bare repository at ``bare``; ``pushers``: a TOML
    file mapping the server's user names to e-mails (``[pushers] alice = "a@corp.example"``),
    copied into the repository for servers that give the hook a user name."""
    from kbapp.trust.serverhook import PUSHERS_FILE

    bare = Path(bare).expanduser().resolve()
    if not (bare / "HEAD").is_file() or not (bare / "objects").is_dir():
        raise KbError(f"{bare} is not a bare git repository (the shared remote)")
    if pushers is not None:
        import tomllib

        try:
            data = Path(pushers).expanduser().read_bytes()
            table = tomllib.loads(data.decode("utf-8")).get("pushers")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise KbError(f"{pushers} cannot be read as TOML: {exc}") from None
        if not isinstance(table, dict) or not all(
            isinstance(v, str) and "@" in v for v in table.values()
        ):
            raise KbError(f'{pushers} needs a [pushers] table of user = "e-mail" lines')
        atomic_write(bare / PUSHERS_FILE, data)
    return _install(bare / "hooks" / "pre-receive", force)


#: Printed by ``kbapp server-hook install`` when nothing tells the hook who pushes.
PUSHER_WARNING = """\
this hook cannot tell who pushes. Commit authors and committers are written by the
pusher, so without the server's word a partner can claim an internal e-mail address and change
paths protected for the internal organisation (the settings, the templates, security/...).
Tell the hook who authenticated, depending on the server:
  - Gitea / Forgejo: nothing to do (they set GITEA_PUSHER_EMAIL for hooks).
  - GitLab (server hooks set GL_USERNAME), gitolite (GL_USER), git http-backend behind a web
    server's login (REMOTE_USER): map user names to e-mails with
    kbapp server-hook install REPO --pushers pushers.toml   ([pushers] alice = "alice@corp.example").
  - plain SSH: set KBAPP_PUSHER_EMAIL per key, e.g. in authorized_keys:
    command="env KBAPP_PUSHER_EMAIL=alice@corp.example git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"" ssh-ed25519 ...
Until then every push prints a note saying so. See docs/security.md, 'Who pushed'."""


def pusher_warning(bare: Path) -> str:
    """:data:`PUSHER_WARNING` unless the repository says who pushes: a pushers map, or Gitea's
    (or Forgejo's) own hooks next to kbapp's (those servers set ``GITEA_PUSHER_EMAIL``)."""
    from kbapp.trust.serverhook import pushers_map

    bare = Path(bare).expanduser().resolve()
    if pushers_map(bare):
        return ""
    gitea = bare / "hooks" / "pre-receive.d" / "gitea"
    if gitea.is_file():
        return ""
    return PUSHER_WARNING


# --------------------------------------------------------------------------- pre-commit check


def staged_config(git: Git) -> KbConfig:
    """``.kb/config.toml`` as it will be committed (the index), else as it is on disk."""
    import tomllib

    data = git.read_blob(f":{CONFIG_PATH}")
    if data is None:
        return load_config(git.root)
    try:
        return config_from_dict(tomllib.loads(data.decode("utf-8")), default_name=git.root.name)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{CONFIG_PATH} (staged) is not valid TOML: {exc}") from None


def check_staged(git: Git) -> list[policy.Violation]:
    """The commit policy on every file added or changed in the index."""
    if os.environ.get("KBAPP_POLICY_CHECKED") == "1":
        return []  # a commit kbapp makes itself, after running the same checks
    config = staged_config(git)
    fields = git.run(
        "-c",
        "core.quotepath=off",
        "diff",
        "--cached",
        "--raw",
        "-z",
        "--no-abbrev",
        "--no-renames",
        "--diff-filter=ACMRT",
        strip=False,
    ).stdout.split("\0")
    found: list[policy.Violation] = []
    # ":<old mode> <new mode> <old id> <new id> <status>" then the name, NUL-separated
    for meta, path in zip(fields[0::2], fields[1::2]):
        if meta.split(" ")[1:2] == ["120000"]:
            found.append(policy.Violation(path, 0, "symlink", policy.SYMLINK_MESSAGE))
            continue
        data = git.read_blob(f":{path}")
        if data is not None:
            found.extend(policy.check_commit_file(path, data, config))
    return found


def check_files(root: Path, paths: list[str], config: KbConfig) -> list[policy.Violation]:
    """The commit policy on files in the work tree (``kbapp policy-check PATH...``)."""
    found: list[policy.Violation] = []
    for relative in paths:
        try:
            data = (root / relative).read_bytes()
        except OSError as exc:
            raise KbError(f"{relative} cannot be read: {exc.strerror or exc}") from None
        found.extend(policy.check_file_name(relative, config))
        found.extend(policy.check_file(relative, data, config))
    return found


# --------------------------------------------------------------------------- running as a hook


def print_violations(violations: list[policy.Violation]) -> None:
    for violation in violations:
        print(terminal_safe(str(violation)), file=sys.stderr)
    if violations:
        print(
            f"kbapp: not committed: {len(violations)} problem(s). A reviewed false positive "
            f"can be allowed with '{ALLOW_MARKER}' on its line or the line before, or in "
            "[secrets] of .kb/config.toml.",
            file=sys.stderr,
        )


def run_pre_commit(root: Path) -> int:
    violations = check_staged(Git(find_root(root)))
    print_violations(violations)
    return 1 if violations else 0


def run_commit_msg(root: Path, message_file: Path) -> int:
    """The commit message, like the files, must hold no secret (it is pushed too)."""
    if os.environ.get("KBAPP_POLICY_CHECKED") == "1":
        return 0  # a commit kbapp makes itself, after running the same checks
    git = Git(find_root(root))
    message = Path(message_file).read_text(encoding="utf-8", errors="replace")
    # The lines git adds for the editor ("# Please enter the commit message...") are dropped.
    text = "\n".join(line for line in message.split("\n") if not line.startswith("#"))
    violations = object_rules.check_object("commit", _draft(git, text), staged_config(git))
    print_violations(violations)
    return 1 if violations else 0


def _draft(git: Git, message: str) -> bytes:
    """The commit git is about to make, as the server's hook will read it: author and
    committer as git has them for this commit, the ``encoding`` header it will write."""

    def ident(name: str) -> str:
        result = git.run("var", name, check=False)
        # "Name <email> 1700000000 +0000": the date is no one's secret
        return result.stdout.rsplit(" ", 2)[0] if result.status == 0 else ""

    return object_rules.draft_commit(
        message,
        author=ident("GIT_AUTHOR_IDENT"),
        committer=ident("GIT_COMMITTER_IDENT"),
        encoding=git.config_get("i18n.commitEncoding"),
    )


def run_pre_receive(git_dir: Path, stdin: str) -> int:
    from kbapp.trust.serverhook import (
        UNKNOWN_PUSHER_NOTE,
        check_push,
        parse_updates,
        pusher,
        report,
    )

    git = Git(git_dir)
    who = pusher(git.git_dir, os.environ)
    rejections = check_push(git, parse_updates(stdin), who.email)
    if rejections:
        print(report(rejections), file=sys.stderr)
    if not who.email:  # every push says so, until the server is set up to tell
        print(UNKNOWN_PUSHER_NOTE.format(problem=who.problem), file=sys.stderr)
    return 1 if rejections else 0


def main(argv: list[str]) -> int:
    """``python -m kbapp.hooks pre-commit|pre-receive``: what the installed hooks run."""
    try:
        if argv[:1] == ["pre-commit"]:
            return run_pre_commit(Path.cwd())
        if argv[:1] == ["pre-receive"]:
            return run_pre_receive(Path.cwd(), sys.stdin.read())
        if argv[:1] == ["commit-msg"] and len(argv) > 1:
            return run_commit_msg(Path.cwd(), Path(argv[1]))
    except KbError as exc:
        print(f"kbapp: {exc}", file=sys.stderr)
        return 1
    print("usage: python -m kbapp.hooks pre-commit|commit-msg FILE|pre-receive", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
