"""PgBouncer in transaction mode in front of the test cluster, for the API suite.

Started once per test session by tests/api/conftest.py on a free port, from a throwaway
directory, with the cluster's own password (libpq passfile) in its auth file; as root it
runs as the cluster's system user, since PgBouncer refuses to run as root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

CLUSTER_USER = "gridmap-pg"  # scripts/db's system user when run as root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _password(host: str, port: int, user: str) -> str:
    """The password libpq would use, from PGPASSFILE (host:port:database:user:password)."""
    passfile = Path(os.environ.get("PGPASSFILE") or Path.home() / ".pgpass")
    for line in passfile.read_text().splitlines():
        fields = line.split(":")
        if len(fields) == 5 and fields[0] in (host, "*") and fields[1] in (str(port), "*") and fields[3] in (user, "*"):
            return fields[4]
    raise RuntimeError(f"no password for {user}@{host}:{port} in {passfile}")


class PgBouncer:
    def __init__(self, database_url: str):
        if shutil.which("pgbouncer") is None:
            raise RuntimeError("pgbouncer not found (scripts/test installs Debian's pgbouncer)")
        parts = urlsplit(database_url)
        self.target = parts
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="gridmap-pgbouncer-", dir="/tmp"))
        self.dir.chmod(0o755)
        password = _password(parts.hostname, parts.port, parts.username)
        auth = self.dir / "userlist.txt"
        auth.write_text(f'"{parts.username}" "{password}"\n')
        auth.chmod(0o600)
        (self.dir / "pgbouncer.ini").write_text(f"""[databases]
* = host={parts.hostname} port={parts.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {auth}
pool_mode = transaction
admin_users = {parts.username}
server_reset_query =
max_client_conn = 400
default_pool_size = 20
logfile = {self.dir / 'pgbouncer.log'}
pidfile = {self.dir / 'pgbouncer.pid'}
""")
        command = ["pgbouncer", str(self.dir / "pgbouncer.ini")]
        if os.geteuid() == 0:
            for path in self.dir.iterdir():
                shutil.chown(path, CLUSTER_USER)
            shutil.chown(self.dir, CLUSTER_USER)
            command = ["runuser", "-u", CLUSTER_USER, "--", *command]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {self.process.stderr.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("pgbouncer did not start within 20 s")

    def url(self) -> str:
        """The database URL with PgBouncer's port instead of the server's."""
        netloc = f"{self.target.username}@127.0.0.1:{self.port}"
        return urlunsplit((self.target.scheme, netloc, self.target.path, self.target.query, ""))


    def pools(self) -> dict[str, dict]:
        """``SHOW POOLS`` of the admin console: database → its pool's row."""
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.target.username, dbname="pgbouncer")
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW POOLS")
                names = [column.name for column in cursor.description]
                return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
        finally:
            connection.close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
