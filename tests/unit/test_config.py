"""Settings read every environment variable the product reads: patrol rules and Chromium included."""

from __future__ import annotations

import pytest

from gridmap.config import DEFAULT_VISIT_TAGS, PatrolRules, Settings


def test_patrol_rules_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GRIDMAP_PATROL_MAX_SPEED_KMH", "60")
    monkeypatch.setenv("GRIDMAP_PATROL_COVERAGE_RADIUS_M", "30.5")
    monkeypatch.setenv("GRIDMAP_PATROL_RETENTION_MONTHS", "12")
    monkeypatch.setenv("GRIDMAP_PATROL_VISIT_TAGS", "孤寡老人，失业, 残疾人")
    monkeypatch.setenv("GRIDMAP_CHROMIUM", "/opt/chromium/chrome")
    settings = Settings()
    assert settings.patrol == PatrolRules(max_speed_kmh=60.0, coverage_radius_m=30.5, retention_months=12,
                                          visit_tags=("孤寡老人", "失业", "残疾人"))
    assert settings.chromium == "/opt/chromium/chrome"


def test_unset_patrol_rules_are_the_defaults(monkeypatch):
    for name in ("GRIDMAP_PATROL_MAX_SPEED_KMH", "GRIDMAP_PATROL_LOW_ACCURACY_M", "GRIDMAP_PATROL_FUTURE_TOLERANCE_S",
                 "GRIDMAP_PATROL_STALE_HOURS", "GRIDMAP_PATROL_COVERAGE_RADIUS_M", "GRIDMAP_PATROL_VISIT_TAGS",
                 "GRIDMAP_PATROL_RETENTION_MONTHS", "GRIDMAP_PATROL_MONTHS_AHEAD", "GRIDMAP_CHROMIUM"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.patrol == PatrolRules() and settings.patrol.visit_tags == DEFAULT_VISIT_TAGS
    assert settings.chromium is None


@pytest.mark.parametrize(("raw", "mode"), [(None, "session"), ("", "session"), ("transaction", "transaction"),
                                          (" session ", "session")])
def test_the_pool_mode_is_session_unless_set_to_transaction(monkeypatch, raw, mode):
    if raw is None:
        monkeypatch.delenv("GRIDMAP_DB_POOL_MODE", raising=False)
    else:
        monkeypatch.setenv("GRIDMAP_DB_POOL_MODE", raw)
    assert Settings().db_pool_mode == mode


def test_an_unknown_pool_mode_stops_the_app_at_start(monkeypatch):
    monkeypatch.setenv("GRIDMAP_DB_POOL_MODE", "statement")
    with pytest.raises(ValueError, match="GRIDMAP_DB_POOL_MODE"):
        Settings()


def test_readme_documents_every_variable_settings_reads():
    """README's configuration table names every environment variable config.py reads."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    read = set(re.findall(r'"((?:GRIDMAP_[A-Z0-9_]+)|DATABASE_URL|SECRET_KEY)"', (root / "gridmap/config.py").read_text()))
    table = (root / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    assert read and sorted(name for name in read if f"`{name}`" not in table) == []
