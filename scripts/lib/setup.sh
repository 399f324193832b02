# shellcheck shell=bash disable=SC2034
# Shared set-up for scripts/demo, scripts/test, scripts/gridmap and scripts/db.
# Source it from a bash script that runs with `set -euo pipefail`.
#
# Functions:
#   ensure_apt_packages  install missing Debian packages (PostgreSQL+PostGIS, chromium,
#                        fonts-noto-cjk, python3-venv, poppler-utils); a quick no-op when all are present
#   ensure_venv          .venv with requirements.txt installed (re-run when it changes)
#   ensure_database      export DATABASE_URL and TEST_DATABASE_URL; start the private
#                        cluster (scripts/db) unless DATABASE_URL was given, and then
#                        export PGPASSFILE (its password file)
#   ensure_secret_key    export SECRET_KEY kept in .gridmap/secret_key unless given
#
# Environment knobs: DATABASE_URL, TEST_DATABASE_URL, GRIDMAP_PYTHON (python used to
# create .venv, default python3), GRIDMAP_PG_MAJOR (pick a PostgreSQL major version),
# GRIDMAP_SKIP_APT=1 (never call apt), GRIDMAP_DB_DIR (the private cluster lives there
# instead of .gridmap/: a throwaway cluster, e.g. the crash test's).
# Progress and errors go to stderr so the stdout of Flask commands stays clean.

GRIDMAP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
GRIDMAP_STATE="$GRIDMAP_ROOT/.gridmap"
GRIDMAP_VENV="$GRIDMAP_ROOT/.venv"
# The private cluster's state (scripts/db) and its password file (libpq passfile format).
GRIDMAP_DB_STATE="${GRIDMAP_DB_DIR:-$GRIDMAP_STATE}"
GRIDMAP_DB_PASSFILE="$GRIDMAP_DB_STATE/pgpass"
# Set to 1 by ensure_database when it started the private cluster itself.
GRIDMAP_STARTED_CLUSTER=0

gridmap_log() { printf '==> %s\n' "$*" >&2; }
gridmap_warn() { printf 'warning: %s\n' "$*" >&2; }
gridmap_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly when we are root, through sudo otherwise.
gridmap_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        gridmap_die "need root to run: $* (install sudo or run as root)"
    fi
}

# A python3 for small helper snippets (not the venv).
gridmap_sys_python() {
    if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3; fi
}

# Installed PostgreSQL server major version: $GRIDMAP_PG_MAJOR if set, else the highest
# /usr/lib/postgresql/<major> that has PostGIS, else the highest at all. Empty if none.
gridmap_pg_major() {
    if [ -n "${GRIDMAP_PG_MAJOR:-}" ]; then
        echo "$GRIDMAP_PG_MAJOR"
        return
    fi
    local d m best="" best_postgis=""
    for d in /usr/lib/postgresql/*/bin; do
        if [ ! -x "$d/initdb" ] || [ ! -x "$d/pg_ctl" ]; then continue; fi
        m="${d#/usr/lib/postgresql/}"
        m="${m%/bin}"
        best="$(printf '%s\n%s\n' "$best" "$m" | sed '/^$/d' | sort -V | tail -n1)"
        if [ -f "/usr/share/postgresql/$m/extension/postgis.control" ]; then
            best_postgis="$(printf '%s\n%s\n' "$best_postgis" "$m" | sed '/^$/d' | sort -V | tail -n1)"
        fi
    done
    echo "${best_postgis:-$best}"
}

_gridmap_pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

_gridmap_apt_has() {
    # Does apt know a candidate version of this package?
    local cand
    cand="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')"
    [ -n "$cand" ] && [ "$cand" != "(none)" ]
}

# PostGIS package for a PostgreSQL major version, e.g. postgresql-15-postgis-3.
_gridmap_postgis_pkg() {
    local major="$1" name
    if _gridmap_pkg_installed "postgresql-$major-postgis-3" || _gridmap_apt_has "postgresql-$major-postgis-3"; then
        echo "postgresql-$major-postgis-3"
        return
    fi
    name="$(apt-cache pkgnames "postgresql-$major-postgis-" 2>/dev/null \
        | grep -E "^postgresql-$major-postgis-[0-9]+$" | sort -V | tail -n1 || true)"
    echo "${name:-postgresql-$major-postgis-3}"
}

# Packages we need, given the PostgreSQL major ("" = not known yet).
_gridmap_wanted_packages() {
    local major="$1"
    if [ -z "${DATABASE_URL:-}" ] && [ -n "$major" ]; then
        echo "postgresql-$major"
        _gridmap_postgis_pkg "$major"
        echo postgresql-contrib
    fi
    # Ubuntu ships chromium as chromium-browser; any chromium binary on PATH will do.
    if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
        if _gridmap_pkg_installed chromium || _gridmap_apt_has chromium || ! _gridmap_apt_has chromium-browser; then
            echo chromium
        else
            echo chromium-browser
        fi
    fi
    echo fonts-noto-cjk
    echo python3-venv
    echo poppler-utils  # pdftotext: the printing security tests read the text of printed PDFs
    echo gdal-bin  # ogrinfo: the OGC API test reads every feature through GDAL's OAPIF driver
    echo pgbouncer  # the API suite runs through PgBouncer in transaction mode (tests/api/conftest.py)
}

# Install the Debian packages that are missing. With DATABASE_URL set the PostgreSQL
# server packages are not needed (the database lives elsewhere).
ensure_apt_packages() {
    if [ "${GRIDMAP_SKIP_APT:-0}" = 1 ]; then return 0; fi
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        gridmap_warn "not a Debian/Ubuntu system: install PostgreSQL+PostGIS, chromium, Noto CJK fonts and python3-venv yourself"
        return 0
    fi
    local major need_pg=0 pkg missing=()
    major="$(gridmap_pg_major)"
    [ -z "${DATABASE_URL:-}" ] && need_pg=1
    for pkg in $(_gridmap_wanted_packages "$major"); do
        _gridmap_pkg_installed "$pkg" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -eq 0 ] && { [ "$need_pg" = 0 ] || [ -n "$major" ]; }; then
        return 0
    fi

    gridmap_log "installing system packages"
    gridmap_as_root apt-get update -qq >&2
    if [ "$need_pg" = 1 ] && [ -z "$major" ]; then
        # The distro's `postgresql` metapackage names the default major (postgresql-15).
        major="$(apt-cache depends postgresql 2>/dev/null \
            | sed -n 's/^ *Depends: postgresql-\([0-9][0-9.]*\)$/\1/p' | head -n1)"
        [ -n "$major" ] || gridmap_die "cannot find a PostgreSQL server package in apt"
    fi
    missing=()
    for pkg in $(_gridmap_wanted_packages "$major"); do
        _gridmap_pkg_installed "$pkg" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        gridmap_log "apt-get install ${missing[*]}"
        gridmap_as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
}

# .venv with requirements.txt installed; pip runs only when requirements.txt changed
# since the last successful install (stamp: .venv/.requirements.sha256).
ensure_venv() {
    local py="${GRIDMAP_PYTHON:-python3}" req="$GRIDMAP_ROOT/requirements.txt"
    local stamp="$GRIDMAP_VENV/.requirements.sha256" want have=""
    mkdir -p "$GRIDMAP_STATE"
    # Serialise concurrent set-ups of the same checkout.
    exec {_gridmap_venv_lock}>"$GRIDMAP_STATE/venv.lock"
    flock "$_gridmap_venv_lock"
    if [ ! -x "$GRIDMAP_VENV/bin/python" ] || ! "$GRIDMAP_VENV/bin/python" -c '' >/dev/null 2>&1; then
        command -v "$py" >/dev/null 2>&1 || gridmap_die "$py not found (set GRIDMAP_PYTHON)"
        gridmap_log "creating .venv with $("$py" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
        rm -rf "$GRIDMAP_VENV"
        "$py" -m venv "$GRIDMAP_VENV" >&2 || gridmap_die "python -m venv failed (is python3-venv installed?)"
    fi
    want="$(sha256sum "$req" | cut -d' ' -f1)"
    [ -f "$stamp" ] && have="$(cat "$stamp")"
    if [ "$want" != "$have" ]; then
        gridmap_log "installing requirements.txt into .venv"
        PIP_DISABLE_PIP_VERSION_CHECK=1 "$GRIDMAP_VENV/bin/python" -m pip install \
            -qq --no-input -r "$req" >&2 || gridmap_die "pip install -r requirements.txt failed"
        echo "$want" >"$stamp"
    fi
    exec {_gridmap_venv_lock}>&-
}

# Create the databases (when missing) and the postgis extension in them, using the
# venv's psycopg2. Arguments: pairs of (required|optional) URL. A failure on a required
# database is fatal; on an optional one it is a warning.
_gridmap_db_prepare() {
    "$GRIDMAP_VENV/bin/python" - "$@" <<'PY'
import getpass
import sys

import psycopg2
from psycopg2 import errors, sql
from psycopg2.extensions import make_dsn, parse_dsn


def libpq_url(url):
    # SQLAlchemy URLs may name a driver: postgresql+psycopg2://...
    scheme, sep, rest = url.partition("://")
    if sep and "+" in scheme:
        return scheme.split("+", 1)[0] + "://" + rest
    return url


def connect(dsn, **kw):
    conn = psycopg2.connect(make_dsn(dsn, connect_timeout=15, options="-c client_min_messages=warning", **kw))
    conn.autocommit = True
    return conn


def prepare(url):
    dsn = libpq_url(url)
    params = parse_dsn(dsn)
    name = params.get("dbname") or params.get("user") or getpass.getuser()
    maint = None
    for maint_db in ("postgres", "template1"):
        if maint_db == name:
            continue
        try:
            maint = connect(dsn, dbname=maint_db)
            break
        except psycopg2.OperationalError:
            continue
    if maint is not None:
        with maint.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                try:
                    cur.execute(
                        sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(sql.Identifier(name))
                    )
                    print(f"==> created database {name}", file=sys.stderr)
                except errors.DuplicateDatabase:
                    pass
        maint.close()
    conn = connect(dsn)
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
        if cur.fetchone() is None:
            cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.close()


status = 0
args = sys.argv[1:]
for kind, url in zip(args[::2], args[1::2]):
    try:
        prepare(url)
    except Exception as exc:  # noqa: BLE001 - report any failure plainly
        msg = str(exc).strip().replace("\n", " ")
        safe = url.split("@")[-1]
        if kind == "required":
            print(f"error: database ...@{safe}: {msg}", file=sys.stderr)
            status = 1
        else:
            print(f"warning: database ...@{safe}: {msg}", file=sys.stderr)
sys.exit(status)
PY
}

# TEST_DATABASE_URL derived from a database URL: same server, database <name>_test.
_gridmap_test_url() {
    "$(gridmap_sys_python)" - "$1" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit

url = urlsplit(sys.argv[1])
name = url.path.lstrip("/") or url.username or "gridmap"
print(urlunsplit(url._replace(path="/" + name + "_test")))
PY
}

# Export DATABASE_URL and TEST_DATABASE_URL, creating both databases (with postgis)
# when missing. Without DATABASE_URL, start the private cluster (scripts/db; on a running
# one that re-applies its settings) and use its databases gridmap and gridmap_test, with
# PGPASSFILE naming its password file (the URLs carry no password);
# GRIDMAP_STARTED_CLUSTER=1 if we started it.
ensure_database() {
    [ -x "$GRIDMAP_VENV/bin/python" ] || ensure_venv
    if [ -n "${DATABASE_URL:-}" ]; then
        export DATABASE_URL
        if [ -z "${TEST_DATABASE_URL:-}" ]; then
            TEST_DATABASE_URL="$(_gridmap_test_url "$DATABASE_URL")"
        fi
        export TEST_DATABASE_URL
    else
        if ! "$GRIDMAP_ROOT/scripts/db" status >/dev/null 2>&1; then
            GRIDMAP_STARTED_CLUSTER=1
        fi
        "$GRIDMAP_ROOT/scripts/db" start
        PGPASSFILE="$GRIDMAP_DB_PASSFILE"
        export PGPASSFILE
        DATABASE_URL="$("$GRIDMAP_ROOT/scripts/db" url)"
        export DATABASE_URL
        TEST_DATABASE_URL="${TEST_DATABASE_URL:-${DATABASE_URL%/*}/gridmap_test}"
        export TEST_DATABASE_URL
    fi
    _gridmap_db_prepare required "$DATABASE_URL" optional "$TEST_DATABASE_URL" \
        || gridmap_die "database set-up failed"
}

# Export SECRET_KEY (unless set) from .gridmap/secret_key, created once, so sessions
# and signed tokens survive restarts and are shared by all server workers.
ensure_secret_key() {
    if [ -n "${SECRET_KEY:-}" ]; then export SECRET_KEY; return 0; fi
    local f="$GRIDMAP_STATE/secret_key"
    mkdir -p "$GRIDMAP_STATE"
    if [ ! -s "$f" ]; then
        (umask 077 && "$(gridmap_sys_python)" -c 'import secrets; print(secrets.token_hex(32))' >"$f.tmp" && mv "$f.tmp" "$f")
    fi
    SECRET_KEY="$(cat "$f")"
    export SECRET_KEY
}
