"""The Budget page in a real browser: reached from the project's navigation, it shows the
spend of today and this month, takes a daily limit, says when it is reached, and always
says that agentops 0.3 clients cannot be stopped."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Seeded, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_set_see_and_clear_the_projects_daily_limit(seeded: Seeded, browser_page: Any) -> None:
    page = browser_page
    sign_in(page, seeded)
    page.click("header nav >> text=Budget")
    page.wait_for_url("**/budget")
    notice = page.inner_text("#budget-notice-03")
    assert "agentops 0.3 clients cannot be stopped" in notice
    assert "agentops.BudgetExceeded" in notice
    assert page.inner_text("#daily-limit") == "no daily limit"
    assert page.locator("#budget-reached").count() == 0
    assert page.inner_text("#spent-today").startswith("$")  # the seeded sessions' calls of today

    page.fill("input[name=daily_limit_usd]", "0.0001")  # less than the seeded calls cost
    page.fill("input[name=monthly_limit_usd]", "25")
    page.click("#budget-form button[type=submit]")
    page.wait_for_selector("#budget-reached")
    assert page.inner_text("#daily-limit") == "of a daily limit of $0.0001"
    assert page.inner_text("#monthly-limit") == "of a monthly limit of $25.00"
    reached = page.inner_text("#budget-reached")
    assert "the project's daily budget of $0.0001 is reached" in reached
    assert page.input_value("input[name=daily_limit_usd]") == "0.0001"
    shot(page, "budget-reached")

    page.fill("input[name=daily_limit_usd]", "")
    page.fill("input[name=monthly_limit_usd]", "")
    page.click("#budget-form button[type=submit]")
    page.wait_for_selector("#daily-limit:text('no daily limit')")
    assert page.locator("#budget-reached").count() == 0
    assert page.inner_text("#monthly-limit") == "no monthly limit"
    assert "agentops 0.3 clients cannot be stopped" in page.inner_text("#budget-notice-03")

    page.fill("input[name=daily_limit_usd]", "-2")
    page.click("#budget-form button[type=submit]")
    page.wait_for_selector("text=the daily limit must be more than 0 USD")
