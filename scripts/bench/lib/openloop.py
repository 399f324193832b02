"""An open-loop HTTP/1.1 load generator cheap enough not to compete with the server it measures.

Requests are built in full (raw bytes) before the run; one thread sends each at its fixed
arrival time on an idle keep-alive connection (opening one, up to ``connections``, when
none is idle; past that the request waits for one, and the wait counts) and reads the
answers with ``selectors``. The latency of a request counts from its *scheduled* send time,
so queueing anywhere — here, in the kernel, in the server — counts. Its CPU cost is a few
tens of µs a request, against several hundred for a thread per connection with
``http.client`` (which also made the bench's own threads fight over the GIL at 800/s).
"""

from __future__ import annotations

import selectors
import socket
import time
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

Request = tuple[str, str, bytes | str | None, dict[str, str]]


def raw_request(method: str, path: str, body: bytes | str | None, headers: dict[str, str]) -> bytes:
    """The request as sent on the wire (keep-alive, Content-Length when there is a body)."""
    data = body.encode() if isinstance(body, str) else (body or b"")
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    if data or method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


class _Connection:
    __slots__ = ("buffer", "scheduled", "sock")

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buffer = b""
        self.scheduled: float | None = None  # None: idle


def _answer(buffer: bytes) -> tuple[int, int, bool] | None:
    """(status, bytes the answer takes, server closes after it) once ``buffer`` holds a whole answer."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buffer[:end].decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    length, close = 0, False
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value.strip().lower() == "close"
    total = end + 4 + length
    return (status, total, close) if len(buffer) >= total else None


def build(make_request: Callable[[int], Request], rate: float, seconds: float) -> list[bytes]:
    """The run's requests on the wire, built before it starts (not part of what it measures)."""
    return [raw_request(*make_request(k)) for k in range(int(rate * seconds))]


def open_loop(port: int, rate: float, wire: list[bytes], connections: int = 64, ok: Sequence[int] = (200, 201),
              timeout: float = 10.0) -> dict:
    """Send the requests ``wire`` at ``rate``/s, at fixed arrival times (open loop); p50/p99 of
    the latency from each scheduled send, errors (other statuses, broken connections, no
    answer within ``timeout``), and the rate achieved."""
    n = len(wire)
    selector = selectors.DefaultSelector()
    idle: list[_Connection] = []  # every open connection stays registered: an idle one the server closed is seen
    opened = busy = errors = k = 0
    waiting: deque[int] = deque()  # due, no connection free yet
    latencies: list[float] = []
    start = time.perf_counter() + 0.05

    def close(conn: _Connection) -> None:
        nonlocal opened
        selector.unregister(conn.sock)
        conn.sock.close()
        opened -= 1

    def failed(index: int) -> None:
        nonlocal errors
        latencies.append((time.perf_counter() - (start + index / rate)) * 1000)
        errors += 1

    deadline = start + n / rate + timeout
    while (k < n or waiting or busy) and time.perf_counter() < deadline:
        now = time.perf_counter()
        while k < n and start + k / rate <= now:
            waiting.append(k)
            k += 1
        while waiting and (idle or opened < connections):
            index = waiting.popleft()
            if idle:
                conn = idle.pop()  # the most recently used: the others may time out and close
            else:
                try:
                    conn = _Connection(port)
                except OSError:
                    failed(index)
                    continue
                selector.register(conn.sock, selectors.EVENT_READ, conn)
                opened += 1
            conn.scheduled = start + index / rate
            try:
                conn.sock.sendall(wire[index])  # a small request: the socket buffer takes it at once
            except OSError:
                close(conn)
                failed(index)
                continue
            busy += 1
        wait = max(0.0, start + k / rate - time.perf_counter()) if k < n else 0.05
        for key, _ in selector.select(0.001 if waiting and not busy else wait):
            conn = key.data
            try:
                chunk = conn.sock.recv(65536)
            except OSError:
                chunk = b""
            if conn.scheduled is None:  # idle: the server closed it (keep-alive timeout)
                if not chunk:
                    idle.remove(conn)
                    close(conn)
                continue
            if not chunk:
                latencies.append((time.perf_counter() - conn.scheduled) * 1000)
                errors += 1
                busy -= 1
                close(conn)
                continue
            conn.buffer += chunk
            answer = _answer(conn.buffer)
            if answer is None:
                continue
            status, size, server_closes = answer
            latencies.append((time.perf_counter() - conn.scheduled) * 1000)
            errors += status not in ok
            busy -= 1
            conn.buffer, conn.scheduled = conn.buffer[size:], None
            if server_closes:
                close(conn)
            else:
                idle.append(conn)
    lost = n - len(latencies)  # no answer before the deadline
    for key in list(selector.get_map().values()):
        key.data.sock.close()
    selector.close()
    elapsed = time.perf_counter() - start
    lat = np.array(latencies + [np.inf] * lost) if n else np.array([np.inf])
    p50, p99 = np.percentile(lat, [50, 99], method="higher")  # an unanswered request: inf, not NaN
    return {"rate": rate, "sent": n, "answered": len(latencies), "errors": errors + lost,
            "p50_ms": float(p50), "p99_ms": float(p99),
            "achieved": len(latencies) / elapsed}
