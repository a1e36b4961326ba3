"""Real git servers on 127.0.0.1 that ask for credentials, for the credential tests:

- :class:`HttpGitServer`: git's smart HTTP (``git http-backend``, run as a CGI program) behind
  a WSGI server from the standard library, with HTTP Basic authentication;
- :class:`SshGitServer`: OpenSSH's ``sshd`` on a free high port, accepting one public key (whose
  private key has a passphrase), started as whoever runs the tests.
"""

from __future__ import annotations

import base64
import getpass
import os
import shutil
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from helpers import free_port


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class HttpGitServer:
    """``git http-backend`` for the bare repositories under ``base``, at
    ``http://127.0.0.1:PORT/<name>``, for one user with one password (Basic auth)."""

    def __init__(self, base: Path, user: str, password: str) -> None:
        self.base = base
        self.user = user
        self.password = password
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self._server: _ThreadingWSGIServer | None = None

    def url(self, name: str) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/{name}"

    def start(self) -> None:
        self._server = make_server(
            "127.0.0.1",
            0,
            self._app,
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _authorised(self, environ: dict[str, Any]) -> bool:
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        return user == self.user and password == self.password

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not self._authorised(environ):
            self.requests.append((environ["REQUEST_METHOD"], path, 401))
            start_response(
                "401 Unauthorized",
                [("WWW-Authenticate", 'Basic realm="kb"'), ("Content-Type", "text/plain")],
            )
            return [b"authentication required\n"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        cgi_env = {
            key: value for key, value in environ.items() if isinstance(value, str) and key.isupper()
        }
        cgi_env.update(
            {
                "GIT_PROJECT_ROOT": str(self.base),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REMOTE_USER": self.user,
                "PATH": os.environ.get("PATH", ""),
                "GATEWAY_INTERFACE": "CGI/1.1",
            }
        )
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=cgi_env, capture_output=True, check=False
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = done.stdout.partition(b"\n\n")
        status = "200 OK"
        headers = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = value.strip()
            elif name:
                headers.append((name.strip(), value.strip()))
        self.requests.append((environ["REQUEST_METHOD"], path, int(status.split()[0])))
        start_response(status, headers)
        return [payload]


class SshGitServer:
    """``sshd`` on 127.0.0.1 and a free port, for the user running the tests, accepting the
    key ``key`` (made here with ``passphrase``) and nothing else. ``ssh_config`` is a client
    configuration for it (port, key, known host, ``AddKeysToAgent``) as a user would write in
    ``~/.ssh/config``."""

    def __init__(self, base: Path, passphrase: str) -> None:
        self.base = base
        self.passphrase = passphrase
        self.port = 0
        self.user = getpass.getuser()
        self.key = base / "id_ed25519"
        self.ssh_config = base / "ssh_config"
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def missing() -> str:
        """Why this machine cannot run the server ("" when it can)."""
        sshd = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else "")
        for tool, found in (
            ("sshd", sshd),
            ("ssh", shutil.which("ssh")),
            ("ssh-keygen", shutil.which("ssh-keygen")),
            ("ssh-agent", shutil.which("ssh-agent")),
        ):
            if not found:
                return f"{tool} is not installed (Debian/Ubuntu: openssh-server openssh-client)"
        return ""

    def url(self, repository: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{repository}"

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o700)
        host_key = self.base / "host_ed25519"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True
        )
        subprocess.run(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                self.passphrase,
                "-C",
                "kbapp-test",
                "-f",
                str(self.key),
            ],
            check=True,
        )
        authorized = self.base / "authorized_keys"
        authorized.write_text(Path(f"{self.key}.pub").read_text())
        authorized.chmod(0o600)
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        if hasattr(os, "geteuid") and os.geteuid() == 0 and Path("/run").is_dir():
            # sshd started as root wants its privilege separation folder (Debian: /run/sshd,
            # made by the service, which nobody started here)
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        log = self.base / "sshd.log"
        for _ in range(5):
            self.port = free_port()
            config = self.base / "sshd_config"
            config.write_text(
                f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
                f"PidFile {self.base / 'sshd.pid'}\nAuthorizedKeysFile {authorized}\n"
                "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
                "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nStrictModes no\n"
                f"AllowUsers {self.user}\nSubsystem sftp internal-sftp\n"
                f"SetEnv PATH={os.environ.get('PATH', '/usr/bin:/bin')}\n"
            )
            self.process = subprocess.Popen(
                [sshd, "-D", "-e", "-f", str(config), "-E", str(log)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                        s.settimeout(2)
                        if s.recv(4).startswith(b"SSH-"):
                            break
                except OSError:
                    time.sleep(0.05)
            else:
                self.stop()
                continue
            break
        else:
            raise RuntimeError(f"sshd did not start: {log.read_text() if log.exists() else ''}")
        public = host_key.with_suffix(".pub").read_text().split()
        known = self.base / "known_hosts"
        known.write_text(f"[127.0.0.1]:{self.port} {public[0]} {public[1]}\n")
        self.ssh_config.write_text(
            f"Host 127.0.0.1\n  Port {self.port}\n  IdentityFile {self.key}\n"
            f"  IdentitiesOnly yes\n  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n"
            "  AddKeysToAgent yes\n  NumberOfPasswordPrompts 1\n  PreferredAuthentications publickey\n"
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


class SshAgent:
    """A private ``ssh-agent`` (its socket in ``base``) for one test."""

    def __init__(self, base: Path) -> None:
        self.socket = base / "agent.sock"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["ssh-agent", "-D", "-a", str(self.socket)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self.socket.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def listed_keys(self) -> str:
        done = subprocess.run(
            ["ssh-add", "-l"],
            env=dict(os.environ, SSH_AUTH_SOCK=str(self.socket)),
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
