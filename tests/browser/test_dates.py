"""Dates and months read in Chinese form whatever the browser's language (issue #19): in an
English Chromium every date input shows 2026-12-04 and the month input 2026年12月, the picker
speaks Chinese, and the forms still send 2026-12-04 / 2026-12."""

from __future__ import annotations

import pytest

from gridmap.auth.service import create_user
from tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def admin(live_db):
    f.lishui(live_db)
    create_user(live_db, "dates-admin", "pass-word-1", "admin", "", "管理员")
    live_db.commit()
    return "dates-admin"


def _shown(page, selector: str) -> list[str]:
    """The values a person sees in the inputs matching ``selector`` (a month picker shows its
    own input in place of the one it sends)."""
    return page.eval_on_selector_all(selector, "els => els.filter(e => e.offsetParent !== null).map(e => e.value)")


def test_dates_and_months_in_chinese_form_in_an_english_browser(offline, live_server, admin):
    tab = offline(viewport={"width": 1366, "height": 768}, locale="en-US")
    page = tab.page
    tab.log_in(admin, "/reports/safety?month=2026-12")
    page.wait_for_selector("input.month-shown")
    assert _shown(page, "form input[type=text]") == ["2026年12月"]
    page.locator("input.month-shown").click()
    calendar = page.locator(".flatpickr-calendar.open")
    assert "十二月" in calendar.inner_text() and "December" not in calendar.inner_text()
    page.locator(".flatpickr-monthSelect-month", has_text="十一月").click()
    assert _shown(page, "form input[type=text]") == ["2026年11月"]
    page.locator("form.hazard-filters button[type=submit]").click()
    page.wait_for_url("**month=2026-11**")
    assert "2026年11月" in page.locator("h1").inner_text()

    for path, selector in (("/maps/patrol?date=2026-12-04", "input[name=date]"),
                           ("/admin/audit?since=2026-12-04&until=2026-12-04", "input[name=since], input[name=until]")):
        page.goto(f"{live_server}{path}")
        page.wait_for_function("() => document.querySelector('input[data-date]')._flatpickr !== undefined")
        shown = _shown(page, selector)
        assert shown and set(shown) == {"2026-12-04"}, (path, shown)
        page.locator(selector).first.click()
        calendar = page.locator(".flatpickr-calendar.open")
        assert "十二月" in calendar.inner_text() and "December" not in calendar.inner_text(), path
        page.keyboard.press("Escape")

    page.goto(f"{live_server}/maps/hazards")
    page.wait_for_function("() => document.querySelector('#heat-since')._flatpickr !== undefined")
    page.locator("#heat-since").click()
    page.locator(".flatpickr-calendar.open .flatpickr-day:not(.prevMonthDay):not(.nextMonthDay)", has_text="4").first.click()
    assert page.input_value("#heat-since").endswith("-04") and len(page.input_value("#heat-since")) == 10
    assert tab.blocked == [] and tab.failed == [] and tab.console_errors == [], (tab.blocked, tab.failed, tab.console_errors)
