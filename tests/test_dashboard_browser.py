"""The dashboard in a real headless Chromium (Debian's, no browser download) against a running server
on a scratch PostgreSQL database: log in, open a country, acknowledge an alert, label a post.
Screenshots of each page go to a temporary folder, or to the one given by `--screenshots DIR`
(`--screenshots docs` refreshes docs/dashboard-*.png)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from monitor.api import create_app
from monitor.config import Settings
from monitor.models import Alert, Label
from tests.conftest import migrated_database
from tests.mailserver import free_port
from tests.test_api_support import seed

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)),
                                reason="needs Debian's chromium and chromium-driver (apt-get install "
                                       "chromium chromium-driver)")


@pytest.fixture(scope="module")
def server(pg_admin_url, tmp_path_factory):
    import uvicorn

    with migrated_database(pg_admin_url, "vigil_browser") as url:
        engine = create_engine(url)
        with Session(engine) as session, session.begin():
            seeded = seed(session)
        data_dir = tmp_path_factory.mktemp("browser")
        app = create_app(Settings(database_url=url, data_dir=data_dir))
        port = free_port()
        srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        for _ in range(100):
            if srv.started:
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", seeded, engine
        srv.should_exit = True
        thread.join(10)
        engine.dispose()
        from monitor.db import get_engine

        get_engine(url).dispose()


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture
def shots(pytestconfig, tmp_path) -> Path:
    """Where screenshots go: a temporary folder unless --screenshots names one; tests never touch docs/ by default."""
    chosen = pytestconfig.getoption("--screenshots")
    folder = Path(chosen) if chosen else tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shot(driver, folder: Path, name: str) -> None:
    """A full-page screenshot (through the DevTools protocol: no resizing races)."""
    import base64

    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    png = base64.b64decode(shot["data"])
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    (folder / f"dashboard-{name}.png").write_bytes(png)


def _navigates(driver, action) -> None:
    """Run `action` (a click, a key) and wait until the next page replaced this one.

    Caught mid-navigation, chromium may answer "Node with given id does not belong to the document" (a plain
    WebDriverException, not a stale element): the wait asks again until the old page is gone or 10 s pass.
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    action()
    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(expected_conditions.staleness_of(page))


def test_login_country_acknowledge_and_label(server, browser, shots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base, seeded, engine = server
    browser.get(f"{base}/")
    assert browser.current_url == f"{base}/login"
    _shot(browser, shots, "login")
    _navigates(browser, lambda: browser.find_element(By.ID, "token").send_keys(seeded.tokens["analyst"] + Keys.ENTER))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Countries"
    assert "Armenia" in browser.page_source and "Germany" in browser.page_source
    _shot(browser, shots, "overview")

    _navigates(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Armenia").click)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Armenia (AM)"
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart rect")
    _shot(browser, shots, "country")

    _navigates(browser, browser.find_element(By.CSS_SELECTOR, f"a[href='/alerts/{seeded.alerts['AM']}']").click)
    _navigates(browser, browser.find_element(By.ID, "acknowledge").click)
    assert browser.find_element(By.ID, "alert-status").text == "acknowledged"
    _shot(browser, shots, "alert")
    with Session(engine) as session:
        alert = session.get(Alert, seeded.alerts["AM"])
        assert (alert.status, alert.acknowledged_by) == ("acknowledged", "analyst")

    _navigates(browser, browser.find_element(By.LINK_TEXT, "Review queue").click)
    first = browser.find_element(By.CSS_SELECTOR, "article.item")
    post_id = int(first.get_attribute("id").removeprefix("post-"))
    assert '<script>alert("x")</script>' in first.text  # the hostile markup is shown as text, not run
    _shot(browser, shots, "review")
    _navigates(browser, lambda: browser.find_element(By.TAG_NAME, "body").send_keys("n"))  # shortcut: not
    assert not browser.find_elements(By.ID, f"post-{post_id}")
    with Session(engine) as session:
        label = session.scalar(select(Label).where(Label.post_id == post_id))
        assert (label.antisemitic, label.labelled_by) == (False, "analyst")

    blocked = [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert blocked == []  # nothing on our pages needs what the policy forbids
