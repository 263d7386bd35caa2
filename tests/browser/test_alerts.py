"""Alerts in a real browser: add a rule with the form, a failed session fires it to a webhook
receiver on loopback, the history shows the delivery, and the rule is removed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import shot
from tests.server.test_alerts import FAST, run_session
from tests.support.dashboard import FIRST_ADMIN_LOGIN, printed_admin_password
from tests.support.server import ServerProcess
from tests.support.webhook import WebhookReceiver, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_add_a_rule_see_it_fire_and_remove_it(tmp_path: Path, browser_page: Any) -> None:
    receiver = WebhookReceiver().start()
    server = ServerProcess(data_dir=tmp_path / "server", extra_env=FAST).start()
    try:
        page = browser_page
        page.goto(server.url + "/")
        page.wait_for_url("**/login**")
        page.fill("input[name=email]", FIRST_ADMIN_LOGIN)
        page.fill("input[name=password]", printed_admin_password(server))
        page.click("button[type=submit]")
        page.wait_for_url("**/projects/**")
        page.click("header nav >> text=Alerts")
        page.wait_for_url(f"**/projects/{server.project_id}/alerts")

        form = page.locator("#new-alert-rule")
        form.locator("select[name=kind]").select_option("session_failed")
        form.locator("input[name=webhook_url]").fill(receiver.url + "/hook")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("#alert-rules >> text=a session ended with Fail")

        session_id = run_session(server, state="Fail")
        wait_until(lambda: len(receiver.delivered()) == 1, "the alert at the receiver")

        def history_shows_it() -> bool:
            page.reload()
            return bool(page.locator("#alert-history", has_text="delivered").count() == 1)

        wait_until(history_shows_it, "the delivery in the history")
        row = page.locator("#alert-history tbody tr", has_text=session_id)
        assert "HTTP 200" in row.inner_text()
        shot(page, "20-alerts")

        page.on("dialog", lambda dialog: dialog.accept())
        page.locator("#alert-rules button", has_text="Remove").click()
        page.wait_for_selector("#alert-rules >> text=No rule yet.")
        assert page.locator("#alert-history >> text=No alert fired yet.").count() == 1
    finally:
        server.stop()
        receiver.stop()
