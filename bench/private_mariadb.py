"""A MariaDB server of our own, to restart at will: never the shared server on 3306.

`mariadb-install-db` creates a data directory under a temporary directory; `mariadbd` runs from
it as a subprocess with its own port (the first free one of `PORTS`, or the one given) and its own
socket, small buffers, no binary log. The port is reserved for the object's life by a lock file,
so that two runs on one machine never take the same port while one of them is down for a restart.
`kill()` is a crash (SIGKILL: the server's sockets close at once, InnoDB recovers on the next
start), `stop()` a clean shutdown, `start()` brings it back on the same data, port and socket.

Running as root (CI on these machines) `mariadbd` refuses to start unless told `--user=root`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from bench.common import Server

# This project's range for private servers on a shared machine.
PORTS = range(33100, 33200)


class MariaDbUnavailable(RuntimeError):
    """The private server cannot be created or started here (binaries missing, no free port)."""


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or next(
            (str(p) for d in ("/usr/sbin", "/usr/bin") if (p := Path(d) / name).exists()), None
        )
        if found:
            return found
    raise MariaDbUnavailable(f"none of {names} is installed (Debian package mariadb-server)")


def free_port(ports: range = PORTS) -> int:
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise MariaDbUnavailable(f"no free port in {ports.start}-{ports.stop - 1}")


PORT_LOCKS = Path(tempfile.gettempdir()) / "conexapi-mariadb-ports"


def reserve_port(ports: range = PORTS) -> tuple[int, IO[str]]:
    """A free port of `ports` and the locked file that reserves it (released when closed): a
    server down for a restart leaves its port free to `bind`, not to another private server."""
    PORT_LOCKS.mkdir(exist_ok=True)
    for port in ports:
        handle = (PORT_LOCKS / f"{port}.lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                handle.close()
                continue
        return port, handle
    raise MariaDbUnavailable(f"no free port in {ports.start}-{ports.stop - 1}")


class PrivateMariaDB:
    def __init__(self, base: Path | None = None, port: int | None = None) -> None:
        self._own_base = base is None
        self.base = base or Path(tempfile.mkdtemp(prefix="conexapi-mariadb-"))
        self.datadir = self.base / "data"
        self.socket = self.base / "mariadb.sock"
        self._port_lock: IO[str] | None = None
        if port is None:
            port, self._port_lock = reserve_port()
        self.port = port
        self.server = Server("127.0.0.1", self.port)
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def _root_args(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def install(self) -> None:
        install = _binary("mariadb-install-db", "mysql_install_db")
        result = subprocess.run(
            [
                install,
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
                *self._root_args(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise MariaDbUnavailable(f"{install} failed: {result.stderr[-2000:]}")

    def start(self, timeout: float = 30.0) -> None:
        server = _binary("mariadbd", "mysqld")
        log = (self.base / "mariadbd.log").open("ab")
        self.proc = subprocess.Popen(
            [
                server,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.socket}",
                f"--pid-file={self.base / 'mariadbd.pid'}",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=64M",
                "--max-connections=300",
                *self._root_args(),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise MariaDbUnavailable(f"mariadbd exited: {self.log_tail()}")
            if self.answers():
                return
            time.sleep(0.05)
        raise MariaDbUnavailable(f"mariadbd did not answer in {timeout} s: {self.log_tail()}")

    def answers(self) -> bool:
        import pymysql

        try:
            pymysql.connect(
                host=self.server.host, port=self.port, user="root", connect_timeout=1
            ).close()
        except pymysql.err.MySQLError:
            return False
        return True

    def kill(self) -> None:
        """A crash: SIGKILL, no shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self, down_seconds: float, *, crash: bool = True) -> float:
        """Down for `down_seconds`, then up again; returns the monotonic time it answered."""
        if crash:
            self.kill()
        else:
            self.stop()
        time.sleep(down_seconds)
        self.start()
        self.restarts += 1
        return time.monotonic()

    def log_tail(self, size: int = 2000) -> str:
        with contextlib.suppress(OSError):
            return (self.base / "mariadbd.log").read_text(errors="replace")[-size:]
        return ""

    def __enter__(self) -> PrivateMariaDB:
        try:
            self.install()
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.stop()
        if self._port_lock is not None:
            self._port_lock.close()
            self._port_lock = None
        if self._own_base:
            shutil.rmtree(self.base, ignore_errors=True)
