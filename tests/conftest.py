"""Shared fixtures: every test gets fresh settings, its own data folder and git identity, and
real components (git repositories, SQLite files, Whoosh indexes, Qt widgets) in tmp_path."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Qt without a display (CI, ssh sessions): set before anything imports Qt. The offscreen
# screen is a 1366×768 laptop's (tests/offscreen-1366x768.json), the smallest kbapp fits.
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    _SCREEN = Path(__file__).resolve().parent / "offscreen-1366x768.json"
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_SCREEN}"

from helpers import (
    CORPORA,
    INTERNAL_DOC,
    PARTNER,
    PLAIN_DOC,
    REPO_ROOT,
    SHARED_DOC,
    CliResult,
    GitDaemon,
    SharedRepo,
    SmallDisk,
    TwoKbs,
    commit_all,
    git,
    write_doc,
)
from search_helpers import module_index, populate
from servers import HttpGitServer, SshGitServer

from kbapp.search import SearchIndex
from kbapp.settings import Settings
from kbapp.workspace import Workspace


@pytest.fixture(autouse=True)
def _fresh_settings(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """No test touches the user's own settings, data or git configuration."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("KBAPP_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("KBAPP_DATA_DIR", str(home / "data"))
    monkeypatch.delenv("KBAPP_KB", raising=False)
    gitconfig = home / "gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test Runner\n\temail = runner@internal.example\n"
        "[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n"
        '[protocol "file"]\n\tallow = always\n'
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # Subprocesses (git hooks, the merge driver, crash tests) import this checkout's kbapp.
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return home


@pytest.fixture(autouse=True)
def _garbage_collected_on_the_gui_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    """GUI tests run as the app does: Python's cycle collection only on the GUI thread between
    events (kbapp.ui.tasks.GarbageCollector), never inside a Qt callback or a worker."""
    if not {"qtbot", "qapp"} & set(request.fixturenames):
        yield
        return
    import gc

    from kbapp.ui.tasks import collect_garbage_on_gui_thread

    collect_garbage_on_gui_thread(request.getfixturevalue("qapp"))
    gc.disable()
    yield
    gc.enable()


@pytest.fixture
def no_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new user's machine: a fresh HOME, git configured without any identity (and unable to
    guess one), kbapp without settings. Returns HOME."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n"
        '[protocol "file"]\n\tallow = always\n'
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "EMAIL",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def settings() -> Settings:
    return Settings(user_name="Ana Ribeiro", user_email="ana@internal.example")


@pytest.fixture
def kb(tmp_path: Path, settings: Settings) -> Iterator[Workspace]:
    """A fresh knowledge base with two organisations, opened as Ana (internal)."""
    workspace = Workspace.init(
        tmp_path / "kb",
        "Test KB",
        ["internal", "partner"],
        settings=settings,
        domains={"internal": ["internal.example"], "partner": ["partner.example"]},
    )
    yield workspace
    workspace.close()


@pytest.fixture
def populated_kb(kb: Workspace) -> Workspace:
    """``kb`` with the search fixtures (tests/search_helpers.py DOCS) committed."""
    populate(kb)
    return kb


@pytest.fixture
def search_index(populated_kb: Workspace) -> SearchIndex:
    """A real on-disk index of ``populated_kb``, caught up."""
    index = SearchIndex.for_workspace(populated_kb)
    index.catch_up()
    return index


@pytest.fixture(scope="module")
def readonly_search_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchIndex]:
    """One index of the search fixtures shared by a module's tests that only read it (built
    once per module: a module's tests must not change it)."""
    yield from module_index(tmp_path_factory, populate)


#: Real collections for ``corpus_search_index``: (folder under ../shared/corpora, into).
SEARCH_CORPUS_PARTS = [
    ("openshift__runbooks", "openshift"),
    ("gautamanand-dot__SupportArticles-docs/support/mem", "mem"),
]


@pytest.fixture(scope="module")
def corpus_search_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchIndex]:
    """An index of about 600 real documents (the OpenShift runbooks and the SupportArticles'
    Intune/Endpoint Manager part), built once per module; its tests only read it."""
    if not all((CORPORA / part).is_dir() for part, _ in SEARCH_CORPUS_PARTS):
        pytest.skip("../shared/corpora is not on this machine")
    from kbapp.documents.importer import import_folder

    def fill(ws: Workspace) -> None:
        for part, into in SEARCH_CORPUS_PARTS:
            import_folder(ws, CORPORA / part, into, build_index=False)

    yield from module_index(tmp_path_factory, fill)


@pytest.fixture
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip("../shared/corpora is not on this machine")
    return CORPORA


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``kbapp ARGS`` in-process and capture what it printed."""
    from kbapp.cli import main

    def run(*argv: str) -> CliResult:
        capsys.readouterr()
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


# --------------------------------------------------------------------------- sync fixtures


@pytest.fixture
def transport() -> str:
    """How the clones reach the shared repository: "file" (a path) or "daemon" (git://
    on 127.0.0.1). Tests parametrize it directly to run the same scenario over both."""
    return "file"


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[GitDaemon]:
    """A real ``git daemon`` serving (and accepting pushes to) ``tmp_path/served``."""
    daemon = GitDaemon(tmp_path / "served")
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture
def shared(
    tmp_path: Path, settings: Settings, transport: str, request: pytest.FixtureRequest
) -> Iterator[SharedRepo]:
    """A shared bare repository and two clones: Ana (internal) who created the knowledge base,
    and Jo (partner) who cloned it with kbapp."""
    from kbapp.sync import sync

    served = tmp_path / "served"
    served.mkdir()
    remote = served / "kb.git"
    git(served, "init", "-q", "--bare", str(remote))
    if transport == "daemon":
        daemon: GitDaemon = request.getfixturevalue("git_daemon")
        url = daemon.url("kb.git")
    else:
        url = str(remote)
    ana = Workspace.init(
        tmp_path / "ana",
        "Shared KB",
        ["internal", "partner"],
        settings=settings,
        domains={"internal": ["internal.example"], "partner": ["partner.example"]},
    )
    git(ana.root, "remote", "add", "origin", url)
    sync.sync(ana)
    jo = sync.clone(url, tmp_path / "jo", PARTNER)
    repo = SharedRepo(remote, url, tmp_path, ana, jo)
    yield repo
    for workspace in repo.opened:
        workspace.close()


@pytest.fixture
def hooked(shared: SharedRepo, cli: Callable[..., CliResult]) -> SharedRepo:
    """``shared`` with kbapp's pre-receive hook installed on the bare repository by
    ``kbapp server-hook install``, as an administrator would."""
    result = cli("server-hook", "install", shared.remote)
    assert result.code == 0, result.err
    return shared


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 16 MB tmpfs mounted at ``tmp_path/disk`` (needs root; skipped cleanly otherwise)."""
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("a real full disk needs root (mount -t tmpfs)")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield SmallDisk(mount)
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


@pytest.fixture
def two(tmp_path: Path, settings: Settings) -> Iterator[TwoKbs]:
    shared = Workspace.init(
        tmp_path / "shared", "Shared KB", ["internal", "partner"], settings=settings
    )
    internal = Workspace.init(
        tmp_path / "internal",
        "Internal KB",
        ["internal"],
        sensitivity="internal",
        settings=settings,
    )
    write_doc(shared, "sops/payments-failover.md", SHARED_DOC)
    commit_all(shared)
    write_doc(internal, "runbooks/failover-secret-site.md", INTERNAL_DOC)
    write_doc(internal, "runbooks/rotate-certificates.md", PLAIN_DOC)
    commit_all(internal)
    yield TwoKbs(shared, internal)
    shared.close()
    internal.close()


# --------------------------------------------------------------------------- credential servers


@pytest.fixture
def credential_store(_fresh_settings: Path, tmp_path: Path) -> Path:
    """git's own ``store`` credential helper, writing to a file of this test (as a user's
    ``credential.helper`` would: libsecret, osxkeychain, manager)."""
    store = tmp_path / "git-credentials"
    with (_fresh_settings / "gitconfig").open("a") as config:
        config.write(f"[credential]\n\thelper = store --file {store}\n")
    return store


@pytest.fixture
def http_git(tmp_path: Path) -> Iterator[HttpGitServer]:
    """git's smart HTTP with Basic auth (user ``ana``, password ``tok-3f9c``) on 127.0.0.1."""
    server = HttpGitServer(tmp_path / "http-served", "ana", "tok-3f9c")
    (tmp_path / "http-served").mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ssh_git(tmp_path: Path) -> Iterator[SshGitServer]:
    """sshd on a free port of 127.0.0.1 taking one key, whose passphrase is ``open sesame``."""
    missing = SshGitServer.missing()
    if missing:
        pytest.skip(f"no SSH server test: {missing}")
    server = SshGitServer(tmp_path / "sshd", "open sesame")
    server.start()
    yield server
    server.stop()
