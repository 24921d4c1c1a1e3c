"""A throwaway PostgreSQL server from Debian's ``postgresql`` package, for the storage tests.

``initdb`` in a fresh temporary directory, ``postgres`` on a free loopback port with its socket
in that directory, password authentication over TCP (so that the tests can check that no
message shows the password), stopped by its PID's ``pg_ctl stop``. PostgreSQL refuses to run
as root: as root, the server runs as the package's ``postgres`` user, which owns the directory.
Where the package is missing the tests skip, and fail under ``COMBAT_REQUIRE_ALL=1``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import free_port

USER = "k8s"
PASSWORD = "s3cret-pg-password"  # the storage tests check that no message ever shows it
WHY = "the storage tests run on a real PostgreSQL (Debian's postgresql package)"


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    message = f"initdb is not installed ({WHY})"
    if os.environ.get("COMBAT_REQUIRE_ALL") == "1":
        pytest.fail(f"{message}; COMBAT_REQUIRE_ALL=1 forbids skipping")
    pytest.skip(message)


@dataclass
class PostgresServer:
    directory: Path
    port: int
    bin_dir: Path
    user: str | None  # the system user the server runs as (None: this process's own)

    def url(self, database: str, *, password: str = PASSWORD, port: int | None = None) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{port or self.port}/{database}"

    def _run(self, *argv: str, timeout: float = 60) -> None:
        result = subprocess.run(
            argv, user=self.user, capture_output=True, text=True, timeout=timeout, cwd=self.directory
        )
        if result.returncode:
            raise RuntimeError(f"{' '.join(argv[:2])} failed:\n{result.stdout}\n{result.stderr}")

    def create_database(self, name: str) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def pause(self) -> None:
        """Stop the server, keeping its data: clients see it unreachable until ``resume``."""
        self._run(str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.directory / "data"), "-m", "immediate")

    def resume(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.directory} -F -c fsync=off -c full_page_writes=off"
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "start",
            "-D",
            str(self.directory / "data"),
            "-w",
            "-t",
            "30",
            "-l",
            str(self.directory / "server.log"),
            "-o",
            options,
        )

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.directory / "data"), "-m", "fast")
        shutil.rmtree(self.directory, ignore_errors=True)


def start_postgres() -> PostgresServer:
    bin_dir = _bin_dir()
    user = "postgres" if os.geteuid() == 0 else None
    directory = Path(tempfile.mkdtemp(prefix="k8s-combat-postgres-"))
    if user:
        account = pwd.getpwnam(user)
        os.chown(directory, account.pw_uid, account.pw_gid)
    server = PostgresServer(directory, free_port(), bin_dir, user)
    password_file = directory / "password"
    password_file.write_text(PASSWORD)
    if user:
        os.chown(password_file, account.pw_uid, account.pw_gid)
    server._run(
        str(bin_dir / "initdb"),
        "-D",
        str(directory / "data"),
        "-U",
        USER,
        f"--pwfile={password_file}",
        "--auth-host=scram-sha-256",
        "--auth-local=trust",
        "--encoding=UTF8",
        "--no-instructions",
    )
    server.resume()
    return server


@pytest.fixture(scope="session")
def postgres():
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()
