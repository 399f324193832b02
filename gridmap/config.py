"""Settings read from the environment, with defaults that suit the private cluster."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# The checkout: static files (vendored map assets, CSS, scripts) live under STATIC_DIR.
ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = ROOT / "static"

MiB = 1024 * 1024
# Any request's body unless its route allows more (gridmap.web.limit_body): JSON and forms.
BODY_LIMIT = 1 * MiB


# The tiles setting: "none" (no tile layer), "gaode" (Gaode's GCJ-02 tiles, also "amap") or a
# WGS-84 tile URL template. Map builders draw it (gridmap.maps.assets); the CSP allows its host.
GAODE_TILES = (
    "https://webrd0{s}.is.autonavi.com/appmaphost?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
)
GAODE_SUBDOMAINS = "1234"


def tile_source(tiles: str | None) -> str | None:
    """A tiles setting as None ("none"), "gaode" or a tile URL template; ValueError otherwise."""
    if tiles is None:
        return None
    value = str(tiles).strip()
    if value.lower() in ("", "none"):
        return None
    if value.lower() in ("gaode", "amap"):
        return "gaode"
    if all(part in value for part in ("{x}", "{y}", "{z}")) and (
        value.startswith(("http://", "https://", "/"))
    ):
        return value
    raise ValueError(
        f"tiles must be 'none', 'gaode' or a tile URL template with {{x}}, {{y}} and {{z}}; got {tiles!r}"
    )


def tiles_are_gcj02(tiles: str | None) -> bool:
    """True when the basemap is in GCJ-02 (Gaode): overlays must then be shifted for display."""
    return tile_source(tiles) == "gaode"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def _json(name: str) -> dict:
    return json.loads(os.environ.get(name) or "{}")


# 五必访: the household tags that require a visit every month (stored data: tags are Chinese words).
DEFAULT_VISIT_TAGS = ("孤寡老人", "困难家庭", "社区矫正", "老党员", "失业")


@dataclass(frozen=True)
class PatrolRules:
    """How check-ins are judged and kept. ``PatrolRules()`` is the product's defaults;
    ``Settings.patrol`` reads them from ``GRIDMAP_PATROL_*``."""

    # impossible_speed: faster than this since the same worker's previous check-in
    # (after subtracting both positions' reported accuracy from the distance).
    max_speed_kmh: float = 120.0
    # low_accuracy: reported accuracy worse than this.
    low_accuracy_m: float = 100.0
    # future_time: recorded later than the server's clock plus this tolerance.
    future_tolerance_s: float = 300.0
    # stale: received this long after it was recorded (a phone offline for days).
    stale_hours: float = 72.0
    # coverage: a household counts as passed when the track comes this close.
    coverage_radius_m: float = 50.0
    # patrol plans: a key place counts as visited by a check-in this close to it.
    place_radius_m: float = 100.0
    # 五必访: household tags that require a visit every month.
    visit_tags: tuple[str, ...] = DEFAULT_VISIT_TAGS
    # Partitions: months kept (retention) and months prepared ahead.
    retention_months: int = 24
    months_ahead: int = 3


def _visit_tags() -> tuple[str, ...]:
    raw = os.environ.get("GRIDMAP_PATROL_VISIT_TAGS")
    if not raw:
        return DEFAULT_VISIT_TAGS
    return tuple(t.strip() for t in raw.replace("，", ",").split(",") if t.strip())


def _choice(name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first when unset); anything else stops the app at start."""
    raw = os.environ.get(name, "").strip() or choices[0]
    if raw not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


def _patrol_rules() -> PatrolRules:
    default = PatrolRules()
    return PatrolRules(
        max_speed_kmh=_float("GRIDMAP_PATROL_MAX_SPEED_KMH", default.max_speed_kmh),
        low_accuracy_m=_float("GRIDMAP_PATROL_LOW_ACCURACY_M", default.low_accuracy_m),
        future_tolerance_s=_float("GRIDMAP_PATROL_FUTURE_TOLERANCE_S", default.future_tolerance_s),
        stale_hours=_float("GRIDMAP_PATROL_STALE_HOURS", default.stale_hours),
        coverage_radius_m=_float("GRIDMAP_PATROL_COVERAGE_RADIUS_M", default.coverage_radius_m),
        place_radius_m=_float("GRIDMAP_PATROL_PLACE_RADIUS_M", default.place_radius_m),
        visit_tags=_visit_tags(),
        retention_months=int(_float("GRIDMAP_PATROL_RETENTION_MONTHS", default.retention_months)),
        months_ahead=int(_float("GRIDMAP_PATROL_MONTHS_AHEAD", default.months_ahead)),
    )


def temporary_secret_key() -> bool:
    """Whether SECRET_KEY is unset, so that Settings signs with a key of this process's own: a
    restart forgets it, and another server does not share it."""
    return not os.environ.get("SECRET_KEY")


@dataclass(frozen=True)
class Settings:
    database_url: str = field(
        default_factory=lambda: os.environ.get("DATABASE_URL", "postgresql://gridmap@127.0.0.1:54320/gridmap")
    )
    # A streaming replica of DATABASE_URL (scripts/db replica): GET reads go there when it has
    # replayed the caller's last write and lags at most replica_max_lag_s (README: How it grows).
    database_replica_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_REPLICA_URL") or None)
    replica_max_lag_s: float = field(default_factory=lambda: _float("GRIDMAP_REPLICA_MAX_LAG_S", 10.0))
    secret_key: str = field(default_factory=lambda: os.environ.get("SECRET_KEY") or secrets.token_hex(32))
    # "none" (plain background, works on any intranet), a WGS-84 tile URL template, or "gaode".
    tiles: str = field(default_factory=lambda: os.environ.get("GRIDMAP_TILES", "none"))
    token_ttl_hours: int = field(default_factory=lambda: _int("GRIDMAP_TOKEN_TTL_HOURS", 12))
    # The body limit of the file-import routes; every other request has a small one (BODY_LIMIT).
    max_upload_mb: int = field(default_factory=lambda: _int("GRIDMAP_MAX_UPLOAD_MB", 200))
    page_size_max: int = field(default_factory=lambda: _int("GRIDMAP_PAGE_SIZE_MAX", 1000))
    # The session cookie is Secure on every HTTPS request; 1 makes it Secure on plain HTTP too.
    secure_cookies: bool = field(default_factory=lambda: os.environ.get("GRIDMAP_SECURE_COOKIES", "0") == "1")
    # How many reverse proxies in front are trusted to set X-Forwarded-For/-Proto/-Host (0: none).
    trusted_proxies: int = field(default_factory=lambda: _int("GRIDMAP_TRUSTED_PROXIES", 0))
    # Above this many grids the area overview draws vector tiles (gridmap.tiles) instead of
    # putting every grid's GeoJSON in the page (README: City-scale maps).
    tile_threshold: int = field(default_factory=lambda: _int("GRIDMAP_TILE_THRESHOLD", 300))
    # Seconds between two looks of the top bar's 待办 badge at GET /api/v1/inbox/count (1–30:
    # what waits shows within 30 seconds; paused while the tab is hidden).
    inbox_poll_s: int = field(default_factory=lambda: min(30, max(1, _int("GRIDMAP_INBOX_POLL_S", 30))))
    # "session": each app connection is its own server session (direct, or PgBouncer in session
    # mode); "transaction": behind PgBouncer in transaction mode, where consecutive transactions
    # may run on different server sessions, so nothing may be kept in one (no PREPARE).
    db_pool_mode: str = field(default_factory=lambda: _choice("GRIDMAP_DB_POOL_MODE", ("session", "transaction")))
    # Chromium renders (PDF, wall map) at once on this machine; beyond: 503 with Retry-After.
    max_renders: int = field(default_factory=lambda: _int("GRIDMAP_MAX_RENDERS", 2))
    # Where the render slots' lock files live: one directory for every worker of the machine.
    render_slot_dir: str = field(default_factory=lambda: os.environ.get("GRIDMAP_RENDER_SLOT_DIR") or os.path.join(
        tempfile.gettempdir(), f"gridmap-render-slots-{os.getuid()}"))
    # Months the audit log of personal-data reads is kept (`retention` prunes older rows).
    audit_keep_months: int = field(default_factory=lambda: _int("GRIDMAP_AUDIT_KEEP_MONTHS", 36))
    # A hazard photo's size (413 above) and how many a hazard may have.
    hazard_photo_max_mb: float = field(default_factory=lambda: _float("GRIDMAP_HAZARD_PHOTO_MAX_MB", 8.0))
    hazard_photo_max_count: int = field(default_factory=lambda: _int("GRIDMAP_HAZARD_PHOTO_MAX_COUNT", 9))
    # Working days a department has to 报到 for an item whistled to it, unless its routing rule says.
    duty_report_working_days: int = field(default_factory=lambda: _int("GRIDMAP_DUTY_REPORT_WORKING_DAYS", 1))
    # Months a finished hazard keeps its free text, photos and people (`hazard-retention`).
    hazard_retention_months: int = field(default_factory=lambda: _int("GRIDMAP_HAZARD_RETENTION_MONTHS", 36))
    # The 平安报表's red/yellow/green bands over the defaults, as JSON:
    # {"closure_rate": {"green": 0.9, "yellow": 0.8}, "overdue": {"green": 0, "yellow": 2}, ...}.
    safety_thresholds: dict = field(default_factory=lambda: _json("GRIDMAP_SAFETY_THRESHOLDS"))
    # 平安报表: the 回访 satisfaction rate's target (a share; at or above it green, below it red).
    satisfaction_target: float = field(default_factory=lambda: _float("GRIDMAP_SATISFACTION_TARGET", 0.95))
    # Check-in judgement, coverage, 五必访 tags and partitions (GRIDMAP_PATROL_*).
    patrol: PatrolRules = field(default_factory=_patrol_rules)
    # The residents' form (居民吹哨, gridmap.public): the address its QR codes point at (empty: the
    # address the page was asked for), reports per client address and per phone in a window, the
    # proof-of-work difficulty (leading zero bits of SHA-256) and a challenge's lifetime, photos.
    public_base_url: str = field(default_factory=lambda: os.environ.get("GRIDMAP_PUBLIC_BASE_URL", "").rstrip("/"))
    public_reports_per_address: int = field(default_factory=lambda: _int("GRIDMAP_PUBLIC_REPORTS_PER_ADDRESS", 10))
    public_reports_per_phone: int = field(default_factory=lambda: _int("GRIDMAP_PUBLIC_REPORTS_PER_PHONE", 3))
    public_window_minutes: int = field(default_factory=lambda: _int("GRIDMAP_PUBLIC_WINDOW_MINUTES", 60))
    public_pow_bits: int = field(default_factory=lambda: _int("GRIDMAP_PUBLIC_POW_BITS", 16))
    public_pow_ttl_s: int = field(default_factory=lambda: _int("GRIDMAP_PUBLIC_POW_TTL_S", 600))
    public_photo_max_count: int = field(default_factory=lambda: _int("GRIDMAP_PUBLIC_PHOTO_MAX_COUNT", 3))
    # The Chromium that prints PDFs and wall maps; None: the first of chromium, chromium-browser,
    # google-chrome on PATH.
    chromium: str | None = field(default_factory=lambda: os.environ.get("GRIDMAP_CHROMIUM") or None)

    def to_flask(self) -> dict[str, object]:
        return {
            "SECRET_KEY": self.secret_key,
            "MAX_CONTENT_LENGTH": BODY_LIMIT,
            "IMPORT_MAX_CONTENT_LENGTH": self.max_upload_mb * MiB,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.secure_cookies,
            "JSON_AS_ASCII": False,
        }
