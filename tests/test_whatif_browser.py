"""The report's What if? panel in headless Chromium: at the report's settings it shows the static
tables' numbers; at other settings, driven through its controls, the library's answer on the same
draws; its address reopens the same answer, and a bad address changes nothing.

Chromium and its driver are Debian's (``make browser``), driven by Selenium. Every comparison is
between the page and Python on the same draws in the same run, so none depends on the draws of a
machine.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from swisbayes.report.whatif import answer, parse_settings, settings_fragment

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"

pytestmark = pytest.mark.slow

SHARES = ("p_any", "p_meaningful", "p_harm", "p_nmb_positive")
"""Weighted shares: the page and Python sum the same weights (to 1e-6)."""

STATIC_KEYS = {
    "ratio": {"median": "irr_median", "p_any": "prob_any_reduction",
              "p_meaningful": "prob_meaningful_reduction", "p_harm": "prob_harm"},
    "points": {"median": "diff_pp_median", "p_any": "prob_any_reduction_pp",
               "p_meaningful": "prob_meaningful_improvement_pp", "p_harm": "prob_harm_pp"},
}
"""The panel's key of each outcome's number, and the effects table's key of the same number."""

READ_PANEL = """
return Object.fromEntries([...document.querySelectorAll('#whatif [data-key]')].map(
  e => [e.dataset.key, [e.dataset.value, e.textContent]]));
"""

READ_STATIC = """
const out = {};
for (const table of ['effects', 'economics', 'diagnostics']) {
  for (const row of document.querySelectorAll('#' + table + ' tbody tr')) {
    const cells = [...row.querySelectorAll('[data-key]')];
    const named = (key) => (cells.find(c => c.dataset.key === key) || {dataset: {}}).dataset.value;
    const outcome = row.dataset.outcome || named('outcome') || '';
    const prior = row.dataset.prior || named('prior') || '';
    for (const c of cells) {
      out[[table, outcome, prior, c.dataset.key].join('|')] = [c.dataset.value, c.textContent];
    }
  }
}
return out;
"""


@pytest.fixture(scope="module")
def page(bundled_report):
    """The bundled report, and its panel's payload as the page carries it."""
    _, out = bundled_report
    text = out.read_text(encoding="utf-8")
    data = re.search(r'<script type="application/json" id="whatif-data">(.*?)</script>', text,
                     re.S)
    return out, json.loads(data.group(1))


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through Debian's chromedriver, keeping the console's messages."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.fail("the What if? tests need Debian's chromium and chromium-driver; `make test` "
                    "installs them (make browser)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--window-size=1100,1400"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    yield chrome
    chrome.quit()


def _open(browser, path: Path, fragment: str = "") -> dict:
    browser.get("about:blank")  # a new load, not a jump within the page
    browser.get(path.resolve().as_uri() + fragment)
    browser.find_element("css selector", '#whatif [data-key="verdict"][data-value]')
    return _panel(browser)


def _panel(browser) -> dict[str, tuple[str, str]]:
    return {k: tuple(v) for k, v in browser.execute_script(READ_PANEL).items()}


def _number(text: str):
    if text in ("true", "false"):
        return text == "true"
    return None if text == "" else float(text)


def _console_errors(browser) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


SET_FIELDS = """
for (const [key, value] of Object.entries(arguments[0])) {
  const field = document.getElementById('wi-' + key);
  field.value = value;
  field.dispatchEvent(new Event('input'));
}
"""


def _set(browser, settings: dict[str, str], *, typed: bool = True) -> str:
    """Drive the controls as a reader would: choose the prior, then type each number (or, not
    ``typed``, put it in its field at once, as a paste does).

    Returns the fragment of the settings in force, as the page prints it beside its verdict.
    """
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    if "prior" in settings:
        Select(browser.find_element("id", "wi-prior")).select_by_value(settings["prior"])
    numbers = {k: v for k, v in settings.items() if k != "prior"}
    if not typed:
        browser.execute_script(SET_FIELDS, numbers)
    for key, value in numbers.items() if typed else ():
        field = browser.find_element("id", f"wi-{key}")
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(value)
    return browser.find_element("id", "whatif-settings").get_attribute("data-value")


def _address(browser) -> str:
    """The page's fragment, once it has caught up with the settings (a moment after them)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(lambda b: b.execute_script(
        "const s = document.getElementById('whatif-settings').dataset.value;"
        "return location.hash === s || (s === '#' && !location.hash)"))
    return browser.execute_script("return location.hash")


def _assert_matches(panel: dict, expected: dict, payload: dict, where: str) -> None:
    for o in payload["outcomes"]:
        k = o["key"]
        for name in ("median", "ci_low", "ci_high", *SHARES[:3], "ess", "khat"):
            got, want = _number(panel[f"{name}.{k}"][0]), expected[f"{name}.{k}"]
            _close(got, want, name, f"{where}: {name}.{k}")
    for name in ("nmb_mean", "p_nmb_positive"):
        _close(_number(panel[name][0]), expected[name], name, f"{where}: {name}")
    assert _number(panel["worth_a_trial"][0]) == expected["worth_a_trial"], where
    assert (panel["verdict"][0] or None) == expected["verdict"], where


def _close(got, want, name: str, where: str) -> None:
    if want is None:
        assert got is None, where
        return
    if name in SHARES:
        assert abs(got - want) <= 1e-6, (where, got, want)
    else:
        assert math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9), (where, got, want)


def test_the_page_is_one_small_file_that_fetches_nothing(page, browser):
    path, _ = page
    text = path.read_text(encoding="utf-8")
    assert path.stat().st_size < 2_000_000
    assert not re.search(r'<(?:script|img|link|iframe)[^>]+(?:src|href)="(?!data:)', text)
    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    assert scripts
    assert not any(re.search(r"fetch\(|XMLHttpRequest|WebSocket|import\(", s)
                               for s in scripts)
    _open(browser, path)
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => !n.startsWith('data:'))")
    assert fetched == []


def test_at_the_reports_settings_the_panel_shows_the_static_tables(page, browser):
    path, payload = page
    panel = _open(browser, path)
    static = browser.execute_script(READ_STATIC)
    assert panel["settings"][0] == "#"
    for o in payload["outcomes"]:
        k, names = o["key"], STATIC_KEYS[o["headline"]]
        for ours, theirs in names.items():
            value, text = static[f"effects|{k}|vague|{theirs}"]
            assert float(panel[f"{ours}.{k}"][0]) == float(value), (k, ours)  # the same double
            if ours != "median":
                assert panel[f"{ours}.{k}"][1] == text, (k, ours)
        effect = browser.execute_script(
            f"return document.querySelector('#whatif-effects tr[data-outcome=\"{k}\"] "
            f"td.wi-effect').textContent")
        assert effect == static[f"effects|{k}|vague|{names['median']}"][1]
    economics = {k.split("|")[3]: v for k, v in static.items()
                 if k.startswith("economics||vague|")}
    assert panel["verdict"][0] == economics["verdict"][0]
    assert float(panel["p_nmb_positive"][0]) == float(economics["prob_nmb_positive"][0])
    # a mean of the same draws, summed in another order
    assert math.isclose(float(panel["nmb_mean"][0]), float(economics["nmb_mean"][0]),
                        rel_tol=1e-12)
    for ours, theirs in (("p_nmb_positive", "prob_nmb_positive"), ("nmb_mean", "nmb_mean")):
        assert panel[ours][1] == economics[theirs][1]
    # each prior the report answered by reweighting: the panel's weights are the report's
    for prior in payload["prior_names"][1:]:
        rows = [k for k in static if k.startswith("diagnostics|") and k.endswith(
            f"|{prior}|path") and static[k][0] == "reweighted"]
        if not rows:
            continue
        _set(browser, {"prior": prior})
        panel = _panel(browser)
        for row in rows:
            k = row.split("|")[1]
            for ours, theirs in STATIC_KEYS[next(o["headline"] for o in payload["outcomes"]
                                                 if o["key"] == k)].items():
                _close(_number(panel[f"{ours}.{k}"][0]),
                       float(static[f"effects|{k}|{prior}|{theirs}"][0]), ours, f"{prior} {k}")
            _close(_number(panel[f"ess.{k}"][0]),
                   float(static[f"diagnostics|{k}|{prior}|importance_ess"][0]), "ess", k)
            _close(_number(panel[f"khat.{k}"][0]),
                   float(static[f"diagnostics|{k}|{prior}|pareto_khat"][0]), "khat", k)
        _close(_number(panel["nmb_mean"][0]),
               float(static[f"economics||{prior}|nmb_mean"][0]), "nmb_mean", prior)
        assert panel["verdict"][0] == static[f"economics||{prior}|verdict"][0]
    assert _console_errors(browser) == []


def _random_settings(payload: dict, rng: np.random.Generator) -> dict[str, str]:
    prior = str(rng.choice([*payload["prior_names"], "custom"]))
    settings = {"prior": prior}
    if prior == "custom":
        settings |= {"centre": f"{rng.uniform(0.7, 1.15):.3f}",
                     "sd": str(rng.choice(["0.02", "0.05", "0.1", "0.3", "1"]))}
    if prior == "pilot-informed":
        settings["pilot_weight"] = f"{rng.uniform(0.0, 1.0):.2f}"
    settings["mcid"] = f"{rng.uniform(0.02, 0.4):.2f}"
    for k in payload["valued"]:  # every control is set: the last setting's values stay typed
        default = payload["defaults"][f"value_{k}"]
        changed = rng.random() < 0.5
        settings[f"value_{k}"] = str(int(rng.uniform(0, 4) * default if changed else default))
    settings["cost"] = str(int(rng.uniform(2_000, 60_000)))
    settings["invest"] = f"{rng.uniform(0.5, 0.95):.2f}"
    settings["stop"] = f"{rng.uniform(0.0, 0.45):.2f}"
    settings["invest_nmb"] = f"{rng.uniform(0.2, 0.8):.2f}"
    return settings


def test_at_other_settings_the_panel_gives_the_librarys_answer(page, browser):
    path, payload = page
    _open(browser, path)
    rng = np.random.default_rng(16)
    untrusted = 0
    for i in range(20):
        settings = _random_settings(payload, rng)
        fragment = _set(browser, settings, typed=i < 3)  # the first few key by key
        assert browser.find_element("id", "whatif-message").get_attribute("hidden") is not None
        assert parse_settings(payload, fragment) == parse_settings(payload, settings)
        assert fragment == settings_fragment(payload, parse_settings(payload, fragment))
        expected = answer(payload, fragment)
        _assert_matches(_panel(browser), expected, payload, f"setting {i} {fragment}")
        untrusted += expected["verdict"] is None
        unreliable = browser.execute_script(
            "return [...document.querySelectorAll('#whatif-effects tr.unreliable')]"
            ".map(r => r.dataset.outcome)")
        assert sorted(unreliable) == sorted(o["key"] for o in payload["outcomes"]
                                            if not (expected[f"trusted.{o['key']}"]
                                                    and o["reliable"]))
    assert untrusted < 20  # most settings are answered
    assert _address(browser) == fragment  # the address follows the settings
    assert _console_errors(browser) == []


def test_a_link_reopens_the_same_answer_and_names_what_was_changed(page, browser):
    path, payload = page
    _open(browser, path)
    _set(browser, {"prior": "custom", "centre": "0.85", "sd": "0.1", "mcid": "0.2",
                   "value_s47": "5000"})
    fragment = _address(browser)
    assert fragment == "#prior=custom&centre=0.85&sd=0.1&mcid=0.2&value_s47=5000"
    shown = _panel(browser)
    assert shown == _open(browser, path, fragment)
    assert "£5,000 (report: £2,000)" in shown["settings"][1]
    changed = browser.execute_script(
        "return [...document.querySelectorAll('#assumptions tr.whatif-changed')]"
        ".map(r => r.dataset.key)")
    assert changed == ["changed.prior", "changed.mcid", "changed.value_s47"]
    _assert_matches(shown, answer(payload, fragment), payload, fragment)


@pytest.mark.parametrize("bad", ["#mcid=1.5", "#prior=nonsense"])
def test_a_bad_link_says_so_and_keeps_the_last_valid_answer(page, browser, bad):
    path, _ = page
    good = "#prior=sceptical&value_s47=5000"
    before = _open(browser, path, good)
    browser.execute_script(f"location.hash = '{bad}'")
    message = browser.find_element("id", "whatif-message")
    assert message.is_displayed()
    assert bad.lstrip("#") in message.text
    assert "last valid settings" in message.text
    assert _panel(browser) == before
    # a page opened on a bad link shows the report's own settings, and says why
    opened = _open(browser, path, bad)
    assert browser.find_element("id", "whatif-message").is_displayed()
    assert opened == _open(browser, path)
    # a bad value typed into a control is refused the same way
    _set(browser, {"mcid": "1.5"})
    assert "mcid=1.5 is out of range" in browser.find_element("id", "whatif-message").text
    assert _panel(browser) == opened
    assert _console_errors(browser) == []
