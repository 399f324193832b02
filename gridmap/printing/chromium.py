"""Headless Chromium as a renderer: an HTML page in, a PDF or PNG out.

No Flask, no DB. Raises ``RenderError`` when Chromium is missing or fails; routes turn
that into a 503 with a Chinese message (pdf_unavailable). Chromium is handled as if the
page were hostile (it carries user text):

- its environment is built from nothing (``chromium_env``), so no secret of the server
  (``SECRET_KEY``, ``DATABASE_URL``, ``PG*``, ``GRIDMAP_*``) reaches it;
- it reaches nothing but the page and static/: the page is served by a one-shot
  loopback server that is also Chromium's proxy for every URL (``page_server``), host
  names resolve to nothing, WebRTC sends no UDP past the proxy (``PROFILE_PREFERENCES``);
- its whole process group is killed when it is done or out of time.
How many run at once is the caller's business (``slots.RenderSlots``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from gridmap.printing.page_server import PageServer

# Headless, quiet, no background traffic (as root it also needs --no-sandbox).
BASE_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
              "--disable-breakpad", "--disable-domain-reliability", "--no-pings", "--disable-quic"]
# WebRTC sends UDP (STUN, TURN) past any proxy unless the profile forbids it; the command-line
# switch for it (--force-webrtc-ip-handling-policy) does not stop it in headless Chromium.
PROFILE_PREFERENCES = {"webrtc": {"ip_handling_policy": "disable_non_proxied_udp", "multiple_routes_enabled": False,
                                  "nonproxied_udp_enabled": False}}
# Variables a font set-up may need; anything else of the server's environment stays behind.
PASSED_THROUGH = ("FONTCONFIG_FILE", "FONTCONFIG_PATH", "TZ")
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


class RenderError(RuntimeError):
    pass


def chromium_path(configured: str | None = None) -> str | None:
    """``configured`` (Settings.chromium) if set, else the first Chromium on PATH."""
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_env(home: Path) -> dict[str, str]:
    """Chromium's whole environment: the PATH, a home, config and caches in the render's
    temporary directory, a UTF-8 locale, and the font variables if the server has them."""
    env = {"PATH": os.environ.get("PATH") or DEFAULT_PATH, "HOME": str(home), "TMPDIR": str(home), "LANG": "C.UTF-8",
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
           "XDG_DATA_HOME": str(home / ".local" / "share"), "XDG_RUNTIME_DIR": str(home / ".run")}
    env.update({name: os.environ[name] for name in PASSED_THROUGH if os.environ.get(name)})
    return env


def network_flags(server: PageServer) -> list[str]:
    """Every request, loopback included, goes to the page server, which answers only the
    page and static/; no host name resolves (127.0.0.1, the proxy itself, is excluded)."""
    return [f"--proxy-server={server.proxy}", "--proxy-bypass-list=<-loopback>",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def render(page_html: str, output: str, flags: list[str], timeout: float = 90, *,
           chromium: str | None = None) -> bytes:
    """Render ``page_html`` with Chromium (``chromium``: Settings.chromium); ``{target}`` in
    ``flags`` becomes the output path."""
    browser = chromium_path(chromium)
    if browser is None:
        raise RenderError("chromium not found")
    with tempfile.TemporaryDirectory(prefix="gridmap-render-") as tmp, PageServer(page_html) as server:
        home, target = Path(tmp), Path(tmp) / output
        command = [browser, *BASE_FLAGS, f"--user-data-dir={_profile(home)}", *network_flags(server),
                   *[flag.replace("{target}", str(target)) for flag in flags], server.url]
        _run(command, chromium_env(home), home, timeout)
        if not target.exists() or target.stat().st_size == 0:
            raise RenderError(f"chromium wrote no {output}")
        return target.read_bytes()


def _profile(home: Path) -> Path:
    """A fresh profile directory holding ``PROFILE_PREFERENCES``."""
    profile = home / "profile"
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text(json.dumps(PROFILE_PREFERENCES), encoding="utf-8")
    return profile


def _run(command: list[str], env: dict[str, str], cwd: Path, timeout: float) -> None:
    """Run Chromium in its own process group, and kill that group when it is done or out of time."""
    try:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True)
    except OSError as error:
        raise RenderError(str(error)) from None
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RenderError(f"chromium took longer than {timeout} s") from None
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # helpers it left behind, or all of it when out of time
        except ProcessLookupError:
            pass
        process.wait()
    if process.returncode != 0:
        raise RenderError(f"chromium exited with {process.returncode}: {stderr.decode(errors='replace')[-500:]}")
