"""Helpers for the hostile-file tests: the upload routes and roles from the operation
declarations, a local HTTP server that counts what it is asked, and DB snapshots."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import text

from gridmap.api import api_blueprints
from gridmap.apidoc import OPERATIONS, Operation
from tests import factories as f

# Tables an import writes (or could be tricked into writing).
IMPORT_TABLES = ("admin_unit", "grid", "grid_version", "household", "party_member", "party_contact", "key_place")

# The narrowest scope each role is given here: the file must be refused whatever the reach.
ROLE_SCOPES = {"admin": "", "planner": f.DISTRICT, "supervisor": f.STREET, "grid_worker": f.GRID_A,
               "party_member": f.GRID_A}


def upload_operations() -> list[Operation]:
    """Every operation whose form takes a file and which reads it as data to import."""
    api_blueprints()  # importing the blueprints declares the operations
    return [op for op in OPERATIONS if op.form.get("file") == "file" and op.tag == "imports"]


def route_roles() -> list[tuple[str, str]]:
    return [(op.path, role) for op in upload_operations() for role in op.roles]


def snapshot(session, secret: str) -> dict[str, tuple[int, int]]:
    """Per table: (rows, rows whose text holds the secret)."""
    out = {}
    for table in IMPORT_TABLES:
        rows, leaked = session.execute(text(
            f"SELECT count(*), count(*) FILTER (WHERE t::text LIKE :p) FROM {table} t"),  # noqa: S608 - fixed names
            {"p": f"%{secret}%"}).one()
        out[table] = (rows, leaked)
    return out


_SERVER = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = open(sys.argv[1], "a", buffering=1)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        log.write(f"{self.command} {self.path}\n")
        body = "fetched,学校,119.885,28.455\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class Listener:
    """A local HTTP server, in its own process (GDAL may hold the GIL while it waits), that logs
    every request it gets; it should never get one."""

    def __init__(self, log_path: str) -> None:
        self.log_path = log_path
        open(log_path, "w").close()
        self.process = subprocess.Popen([sys.executable, "-c", _SERVER, log_path], stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline())

    @property
    def requests(self) -> list[str]:
        with open(self.log_path) as log:
            return log.read().splitlines()

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
