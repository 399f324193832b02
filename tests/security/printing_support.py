"""Helpers for tests/security/test_printing.py: a loopback listener that counts every HTTP
request and UDP datagram that reaches it, hostile pages aimed at it and at a local file,
fake Chromiums (shell scripts), and the text of a PDF (pdftotext, from poppler-utils)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

PAGE_MARK = "PRINTED-PAGE-7d1f"  # the hostile pages' own text: the render did work


class Listener:
    """``with Listener() as listener:`` an HTTP server and a UDP socket on 127.0.0.1 that
    record what reaches them (``listener.requests``, ``listener.datagrams``)."""

    def __init__(self):
        self.requests: list[str] = []
        self.datagrams = 0
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                listener.requests.append(f"{self.command} {self.path}")
                body = b"LEAKED-FROM-LISTENER"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = do_OPTIONS = do_CONNECT = _any

            def log_message(self, *args):
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.port = self._http.server_address[1]
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind(("127.0.0.1", 0))
        self._udp.settimeout(0.1)
        self.udp_port = self._udp.getsockname()[1]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._http.serve_forever, daemon=True),
                         threading.Thread(target=self._receive, daemon=True)]

    def _receive(self):
        while not self._stop.is_set():
            try:
                self._udp.recvfrom(4096)
                self.datagrams += 1
            except (TimeoutError, OSError):
                pass

    def __enter__(self) -> Listener:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._http.shutdown()
        self._http.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._udp.close()


def network_page(port: int, udp_port: int) -> str:
    """A page that reaches for 127.0.0.1:``port`` every way a page can."""
    base = f"http://127.0.0.1:{port}"
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<link rel="stylesheet" href="{base}/link.css"><link rel="preload" href="{base}/preload" as="fetch">
<link rel="prefetch" href="{base}/prefetch"><link rel="icon" href="{base}/favicon.ico">
<script src="{base}/script.js"></script>
<style>@import url("{base}/import.css");
body {{ background: url("{base}/background.png"); }}
@font-face {{ font-family: leak; src: url("{base}/font.woff"); }} .f {{ font-family: leak; }}</style>
</head><body><p>{PAGE_MARK}</p><p class="f">字体</p>
<img src="{base}/img.png"><img src="http://localhost:{port}/localhost.png"><img srcset="{base}/srcset.png 2x">
<iframe src="{base}/iframe.html"></iframe><object data="{base}/object"></object>
<video poster="{base}/poster.png" src="{base}/video.mp4"></video><audio src="{base}/audio.mp3" autoplay></audio>
<svg><image href="{base}/svg-image.png" width="10" height="10"/></svg>
<script>
fetch("{base}/fetch").catch(() => {{}});
fetch("http://localhost:{port}/fetch-localhost").catch(() => {{}});
navigator.sendBeacon("{base}/beacon", "x");
try {{ new EventSource("{base}/events"); }} catch (e) {{}}
try {{ new WebSocket("ws://127.0.0.1:{port}/ws"); }} catch (e) {{}}
var xhr = new XMLHttpRequest(); xhr.open("GET", "{base}/xhr"); xhr.send();
new Image().src = "{base}/js-image.png";
try {{ new Worker("{base}/worker.js"); }} catch (e) {{}}
var pc = new RTCPeerConnection({{iceServers: [{{urls: "stun:127.0.0.1:{udp_port}"}},
  {{urls: "turn:127.0.0.1:{udp_port}?transport=udp", username: "u", credential: "c"}}]}});
pc.createDataChannel("leak"); pc.createOffer().then(offer => pc.setLocalDescription(offer));
</script></body></html>"""


def file_page(canary: Path) -> str:
    """A page that tries to show or read a local file, and a file outside static/ through
    the page server, and writes whatever it got into itself."""
    url = canary.as_uri()
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<link rel="stylesheet" href="{url}"></head><body><p>{PAGE_MARK}</p>
<iframe src="{url}" width="600" height="80"></iframe>
<object data="{url}" type="text/plain" width="600" height="80"></object>
<embed src="{url}" type="text/plain" width="600" height="80">
<iframe src="view-source:{url}" width="600" height="80"></iframe>
<div id="out"></div>
<script>
function show(label, text) {{ var p = document.createElement("p"); p.textContent = label + " " + text;
  document.getElementById("out").append(p); }}
fetch("{url}").then(r => r.text()).then(t => show("fetch", t)).catch(e => show("fetch-refused", ""));
try {{ var x = new XMLHttpRequest(); x.open("GET", "{url}", false); x.send(); show("xhr", x.responseText); }}
catch (e) {{ show("xhr-refused", ""); }}
for (const path of ["/static/..%2f..%2fgridmap%2fconfig.py", "/static/%2e%2e/%2e%2e/gridmap/config.py",
                    "/static/../gridmap/config.py", "/gridmap/config.py"]) {{
  fetch(path).then(r => r.ok ? r.text() : "").then(t => show("server", t)).catch(() => {{}});
}}
</script></body></html>"""


def navigation_page(port: int, canary: Path) -> str:
    """A page that navigates away: to the listener (a refresh, a form, a new window), and to a local file."""
    return f"""<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="refresh" content="0; url=http://127.0.0.1:{port}/meta-refresh"></head><body>
<p>{PAGE_MARK}</p><form id="f" action="http://127.0.0.1:{port}/form" method="post"><input name="a" value="b"></form>
<script>window.open("http://127.0.0.1:{port}/window-open");
setTimeout(() => document.getElementById("f").submit(), 5);
setTimeout(() => {{ location.href = "{canary.as_uri()}"; }}, 10);</script></body></html>"""


def pdf_text(data: bytes, tmp_path: Path) -> str:
    """The text of a PDF, by pdftotext (poppler-utils, installed by scripts/lib/setup.sh)."""
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.fail("pdftotext not found: install poppler-utils (scripts/lib/setup.sh does)")
    source = tmp_path / "printed.pdf"
    source.write_bytes(data)
    return subprocess.run([pdftotext, "-layout", str(source), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout


def fake_chromium(tmp_path: Path, body: str) -> Path:
    """An executable shell script to stand in for Chromium; ``$target`` is the output path."""
    script = tmp_path / "fake-chromium"
    script.write_text("#!/bin/sh\n"
                      'for arg in "$@"; do case "$arg" in\n'
                      '  --print-to-pdf=*) target="${arg#--print-to-pdf=}";;\n'
                      '  --screenshot=*) target="${arg#--screenshot=}";;\n'
                      "esac; done\n" + body + "\n", encoding="utf-8")
    script.chmod(0o755)
    return script


def process_gone(pid: int) -> bool:
    """True when ``pid`` has exited (a zombie waiting for a reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def environment_of(dump: Path) -> dict[str, str]:
    """``env -0`` output as a dict."""
    pairs = [item.split("=", 1) for item in dump.read_bytes().decode().split("\0") if "=" in item]
    return {name: value for name, value in pairs}


def python_env() -> dict[str, str]:
    """The environment for a helper Python process that imports gridmap."""
    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
