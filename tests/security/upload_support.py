"""Helpers for the hostile-file tests: the upload routes and roles from the operation
declarations, a local HTTP server that counts what it is asked, and DB snapshots."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class Listener:
    """A local HTTP server recording every request; it should never get one."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                listener.requests.append(f"{self.command} {self.path}")
                body = f"fetched,学校,{119.885},{28.455}\n".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET  # noqa: N815

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
