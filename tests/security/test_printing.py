"""Printing (PDF handbook, wall map PNG/PDF) treats the page as hostile: Chromium gets none
of the server's secrets, reaches nothing but the page it renders (no network, no local
file, no other file of the server), is killed with all its helpers when out of time, and
at most GRIDMAP_MAX_RENDERS renders run at once on the machine (503 with Retry-After)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.handover import service as handovers
from gridmap.printing import handbook, wallmap
from gridmap.printing.chromium import RenderError, render
from gridmap.printing.page_server import PageServer
from gridmap.printing.slots import RenderSlots, RendersBusy, print_in_slot
from tests import factories as f
from tests.api.test_pages import _login
from tests.security.printing_support import (
    PAGE_MARK,
    Listener,
    environment_of,
    fake_chromium,
    file_page,
    navigation_page,
    network_page,
    pdf_text,
    process_gone,
    python_env,
)

SECRETS = {"SECRET_KEY": "canary-secret-key-5b1e", "DATABASE_URL": "postgresql://gridmap:canary-db-pass@db/gridmap",
           "PGPASSWORD": "canary-pgpassword", "PGSERVICEFILE": "/canary/pg_service.conf",
           "GRIDMAP_TILES": "https://canary.example/{z}/{x}/{y}.png", "GRIDMAP_CANARY_TOKEN": "canary-gridmap-var",
           "AWS_SECRET_ACCESS_KEY": "canary-aws-secret", "HTTP_PROXY": "http://canary-proxy:3128"}
ALLOWED_NAMES = {"PATH", "HOME", "TMPDIR", "LANG", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME",
                 "XDG_RUNTIME_DIR", "FONTCONFIG_FILE", "FONTCONFIG_PATH", "TZ",
                 "PWD", "SHLVL", "_", "OLDPWD"}  # the last four: what sh adds itself
RENDERERS = {"handbook.pdf": handbook.html_to_pdf, "wall.pdf": wallmap.wall_pdf, "wall.png": wallmap.wall_png}

real_chromium = pytest.mark.browser
# The Chromium scripts/test found (Settings.chromium of the app under test); None: the one on PATH.
CHROMIUM = os.environ.get("GRIDMAP_CHROMIUM") or None


# --- the environment -------------------------------------------------------------------


def test_chromium_gets_none_of_the_servers_environment(tmp_path, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    dump = tmp_path / "env.dump"
    chromium = str(fake_chromium(tmp_path, f'env -0 > "{dump}"; exit 3'))
    with pytest.raises(RenderError):
        handbook.html_to_pdf("<p>x</p>", chromium=chromium)
    env = environment_of(dump)
    assert set(env) <= ALLOWED_NAMES, sorted(set(env) - ALLOWED_NAMES)
    text = dump.read_bytes().decode()
    assert not [name for name, value in SECRETS.items() if value in text]
    assert env["HOME"] != str(Path.home()) and env["HOME"].startswith(env["TMPDIR"])


# --- the network and local files (real Chromium) ----------------------------------------


@real_chromium
@pytest.mark.parametrize("output", sorted(RENDERERS))
def test_chromium_reaches_no_network(output, tmp_path):
    with Listener() as listener:
        data = RENDERERS[output](network_page(listener.port, listener.udp_port), chromium=CHROMIUM)
        time.sleep(0.3)  # a datagram still on its way
    assert listener.requests == [] and listener.datagrams == 0, (listener.requests, listener.datagrams)
    if output.endswith(".pdf"):
        assert PAGE_MARK in pdf_text(data, tmp_path)  # the page itself was printed
    else:
        assert wallmap.png_size(data) == (wallmap.PAGE_PX[0] * wallmap.SCALE, wallmap.PAGE_PX[1] * wallmap.SCALE)


@real_chromium
@pytest.mark.parametrize("output", ["handbook.pdf", "wall.pdf"])
def test_chromium_reads_no_local_file(output, tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("CANARY-LOCAL-FILE-93c2 身份证号", encoding="utf-8")
    text = pdf_text(RENDERERS[output](file_page(canary), chromium=CHROMIUM), tmp_path)
    assert PAGE_MARK in text
    assert "CANARY-LOCAL-FILE" not in text and "身份证号" not in text
    assert "GRIDMAP_MAX_RENDERS" not in text and "def _int" not in text  # gridmap/config.py, next to static/


@real_chromium
def test_chromium_does_not_navigate_away(tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("CANARY-NAVIGATED-41d0", encoding="utf-8")
    with Listener() as listener:
        try:
            text = pdf_text(wallmap.wall_pdf(navigation_page(listener.port, canary)), tmp_path)
        except RenderError:
            text = ""
    assert listener.requests == [], listener.requests
    assert "CANARY-NAVIGATED" not in text


def test_the_page_server_answers_the_page_and_static_files_only():
    with PageServer("<p>页面</p>") as server:
        origin = f"http://{server.origin}"
        assert server.answer("GET", server.url)[0] == 200
        assert server.answer("GET", f"{origin}/static/css/print.css")[0] == 200
        refused = [("GET", f"{origin}/other/page.html"), ("GET", f"{origin}/page.html"),
                   ("POST", server.url), ("CONNECT", f"{server.origin}"), ("CONNECT", "example.com:443"),
                   ("GET", server.url.replace("127.0.0.1", "localhost")), ("GET", "http://127.0.0.1:5432/"),
                   ("GET", "http://example.com/static/css/print.css"), ("GET", f"{server.url}?x=1"),
                   ("GET", f"{origin}/static/..%2f..%2fgridmap%2fconfig.py"),
                   ("GET", f"{origin}/static/../gridmap/config.py"), ("GET", f"{origin}/static/%2e%2e/README.md"),
                   ("GET", f"{origin}/static//etc/passwd"), ("GET", f"{origin}/static/"),
                   ("GET", f"{origin}/static/css"), ("GET", "file:///etc/passwd")]
        for method, target in refused:
            status, _, body = server.answer(method, target)
            assert status in (403, 404) and body == b"", (method, target)


# --- time and process group ------------------------------------------------------------


def test_a_render_out_of_time_is_killed_with_its_helpers(tmp_path, monkeypatch):
    pid_file = tmp_path / "helper.pid"
    chromium = str(fake_chromium(tmp_path, f'sleep 300 & echo $! > "{pid_file}"; wait'))
    started = time.monotonic()
    with pytest.raises(RenderError):
        render("<p>x</p>", "page.pdf", ["--print-to-pdf={target}"], timeout=1, chromium=chromium)
    assert time.monotonic() - started < 20
    helper = int(pid_file.read_text())
    for _ in range(50):
        if process_gone(helper):
            break
        time.sleep(0.1)
    assert process_gone(helper), "Chromium's helper process outlived the render"


# --- at most N at once -----------------------------------------------------------------


def test_render_slots_are_shared_by_threads_and_processes(tmp_path):
    slots = RenderSlots(2, tmp_path / "slots")
    with slots.hold(), slots.hold():
        with pytest.raises(RendersBusy):
            with slots.hold():
                pass
    with slots.hold():  # released again
        pass
    holder = _hold_slot_in_another_process(tmp_path / "slots", 2)
    try:
        with slots.hold():
            with pytest.raises(RendersBusy):
                with slots.hold():
                    pass
    finally:
        holder.kill()
        holder.wait()
    with slots.hold(), slots.hold():  # a worker that dies gives its slot back
        pass


def _hold_slot_in_another_process(directory, count) -> subprocess.Popen:
    code = ("import sys\nfrom gridmap.printing.slots import RenderSlots\n"
            f"hold = RenderSlots({count}, {str(directory)!r}).hold()\nhold.__enter__()\n"
            "print('held', flush=True)\nsys.stdin.read()\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              env=python_env(), text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


@pytest.fixture
def printer(app, client, db_session, tmp_path, monkeypatch):
    """A logged-in grid worker, two render slots in a private directory, and a fake Chromium
    that announces each start and writes its output once ``release`` exists."""
    f.lishui(db_session)
    create_user(db_session, "printer", "pass-word-1", "grid_worker", f.GRID_A, "周晓燕")
    handover = handovers.create(db_session, Scope.everything(), f.GRID_A, visit_tags=("孤寡老人",))["id"]
    db_session.commit()
    _login(client, "printer", "pass-word-1")
    started, release = tmp_path / "started", tmp_path / "release"
    wait_for_release = f'i=0; while [ ! -e "{release}" ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done'
    script = fake_chromium(tmp_path, f'echo x >> "{started}"\n{wait_for_release}\n'
                                     "printf '%%PDF-1.4 fake\\n' > \"$target\"")
    settings = dataclasses.replace(app.config["GRIDMAP"], max_renders=2, render_slot_dir=str(tmp_path / "slots"),
                                   chromium=str(script))
    monkeypatch.setitem(app.config, "GRIDMAP", settings)
    return {"started": started, "release": release, "slots": tmp_path / "slots", "handover": handover}


def test_beyond_max_renders_a_print_is_503_with_retry_after(app, client, printer):
    holder = _hold_slot_in_another_process(printer["slots"], 2)  # another gunicorn worker's render
    results: list = []

    def slow_render():  # a render in another thread of this worker, through the routes' own path
        with app.app_context():
            results.append(print_in_slot(wallmap.wall_pdf, "<p>x</p>", settings=app.config["GRIDMAP"],
                                         unavailable="wall_map_unavailable"))

    thread = threading.Thread(target=slow_render)
    thread.start()
    try:
        for _ in range(100):
            if printer["started"].exists():
                break
            time.sleep(0.1)
        assert printer["started"].exists()
        for path in (f"/maps/grid/{f.GRID_A}/wall.png", f"/maps/grid/{f.GRID_A}/wall.pdf",
                     f"/maps/grid/{f.GRID_A}/print.pdf", f"/maps/grid/{f.GRID_A}/handovers/{printer['handover']}.pdf"):
            busy = client.get(path, headers={"Accept": "application/json"})
            assert busy.status_code == 503 and busy.headers["Retry-After"] == "10", path
            error = busy.get_json()["error"]
            assert error["code"] == "renders_busy" and "10 秒后再试" in error["message"]
        page = client.get(f"/maps/grid/{f.GRID_A}/print.pdf")
        assert page.status_code == 503 and page.headers["Retry-After"] == "10"
        assert "10 秒后再试" in page.get_data(as_text=True)
        assert printer["started"].read_text().count("x") == 1  # no Chromium was started for them
    finally:
        printer["release"].touch()
        thread.join(timeout=30)
        holder.kill()
        holder.wait()
    assert results == [b"%PDF-1.4 fake\n"]
    done = client.get(f"/maps/grid/{f.GRID_A}/wall.pdf")  # slots given back
    assert done.status_code == 200 and done.data == b"%PDF-1.4 fake\n"


@real_chromium
def test_the_handover_pdf_is_printed_for_signing_and_masked(app, client, db_session, tmp_path):
    """责任交接单: Chromium prints the grid's code, the snapshot and the signature lines; a
    supervisor's copy carries household heads masked."""
    grids = f.lishui(db_session)["grids"]
    f.household(db_session, "P1", 119.882, 28.455, grids[f.GRID_A], head_name="欧阳锋", phone="13912345678",
                tags=["孤寡老人"])
    create_user(db_session, "handover-sv", "pass-word-1", "supervisor", f.STREET, "督导")
    handover = handovers.create(db_session, Scope.everything(), f.GRID_A, visit_tags=("孤寡老人",))["id"]
    db_session.commit()
    _login(client, "handover-sv", "pass-word-1")
    answer = client.get(f"/maps/grid/{f.GRID_A}/handovers/{handover}.pdf")
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF"), answer.get_data(as_text=True)[:300]
    text = pdf_text(answer.data, tmp_path)
    assert f.GRID_A in text and "网格责任交接单" in text
    assert "移交人（签字）" in text and "接收人（签字）" in text
    assert "欧**" in text and "欧阳锋" not in text and "13912345678" not in text
