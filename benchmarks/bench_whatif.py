"""How live the report's "What if?" panel feels: control-change latency in headless Chromium.

Opens a report in headless Chromium (Debian's ``chromium`` and ``chromium-driver``, through
Selenium) and times each kind of control change from the change event to the updated page,
twice: until the handler has written every number (the recomputation and the DOM), and until
the next frame is painted. A named prior is timed the first time it is chosen, right after the
page opens, and again (the page weighs the draws for each named prior while the reader reads, so
after the first seconds both are look-ups); a custom prior's centre and SD, whose weights are
always computed on the spot, are the honest worst case. The MCID, a value per averted event,
the cost and a rule threshold are timed as typed. Also reported: the file's size and its parts,
and the time from opening the file to a filled panel. The target is under 100 ms per change and
2 MB per file.

Usage: ``python benchmarks/bench_whatif.py [REPORT.html] [--repeats 5] [--json FILE]``; without
a report, one is made on the bundled data (``swisbayes report``, a few minutes cold).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = str(Path(sys.executable).with_name("swisbayes"))

# Dispatch the control's event, then time the synchronous update and the next painted frame.
TIME_CHANGE = """
const [id, value, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const control = document.getElementById(id);
const start = performance.now();
control.value = value;
control.dispatchEvent(new Event(control.tagName === "SELECT" ? "change" : "input"));
const updated = performance.now() - start;
requestAnimationFrame(() => requestAnimationFrame(() =>
  done([updated, performance.now() - start, document.getElementById("whatif-message").hidden])));
"""


def browser(width: int = 1100):
    """Headless Chromium driven by Selenium, with the system's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        raise SystemExit("needs Debian's chromium and chromium-driver (make browser)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={width},1400"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def make_report(directory: Path) -> Path:
    out = directory / "report.html"
    proc = subprocess.run([CLI, "report", "--out", str(out)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"swisbayes report exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return out


def sizes(page: Path) -> dict[str, int]:
    """The file and the panel's parts, in bytes."""
    text = page.read_text(encoding="utf-8")
    data = re.search(r'<script type="application/json" id="whatif-data">(.*?)</script>', text,
                     re.S)
    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    return {"file": page.stat().st_size,
            "panel_data": len(data.group(1).encode()) if data else 0,
            "panel_script": sum(len(s.encode()) for s in scripts)}


def changes(priors: list[str]) -> list[tuple[str, str, str]]:
    """(what, control id, value): every prior twice (uncached, then cached), then typed inputs."""
    steps = [(f"prior {p} (first time)", "wi-prior", p) for p in priors]
    steps += [(f"prior {p} (again)", "wi-prior", p) for p in priors]
    steps += [("prior custom (first time)", "wi-prior", "custom")]
    steps += [("custom prior: centre (never cached)", "wi-centre", v)
              for v in ("0.8", "0.85", "0.9", "0.95")]
    steps += [("custom prior: SD (never cached)", "wi-sd", v) for v in ("0.05", "0.2", "0.1")]
    steps += [("MCID", "wi-mcid", v) for v in ("0.2", "0.15", "0.05")]
    steps += [("value of an averted event", "wi-value_s47", v) for v in ("5000", "1000", "2000")]
    steps += [("cost per school-year", "wi-cost", v) for v in ("25000", "50000", "37500")]
    steps += [("rule threshold", "wi-invest", v) for v in ("0.6", "0.9", "0.8")]
    return steps


def measure(page: Path, repeats: int) -> dict:
    driver = browser()
    try:
        results: dict[str, list[tuple[float, float]]] = {}
        load = []
        for _ in range(repeats):
            start = time.perf_counter()
            driver.get(page.resolve().as_uri())
            driver.find_element("css selector", '#whatif [data-key="verdict"][data-value]')
            load.append(time.perf_counter() - start)
            priors = driver.execute_script(
                "return [...document.querySelectorAll('#wi-prior option')].map(o => o.value)")
            for what, control, value in changes([p for p in priors if p != "custom"]):
                updated, painted, ok = driver.execute_async_script(TIME_CHANGE, control, value)
                if not ok:
                    raise SystemExit(f"{what} = {value} was refused by the page")
                results.setdefault(what, []).append((updated, painted))
        return {"load_seconds": statistics.median(load),
                "changes_ms": {what: {"updated_median": statistics.median(u for u, _ in xs),
                                      "updated_max": max(u for u, _ in xs),
                                      "painted_median": statistics.median(p for _, p in xs),
                                      "painted_max": max(p for _, p in xs)}
                               for what, xs in results.items()}}
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        page = args.report or make_report(Path(tmp))
        result = {"sizes": sizes(page), **measure(page, args.repeats)}
    print(f"file {result['sizes']['file'] / 1e6:.2f} MB (panel data "
          f"{result['sizes']['panel_data'] / 1e6:.2f} MB, script "
          f"{result['sizes']['panel_script'] / 1e3:.0f} kB); panel ready "
          f"{result['load_seconds']:.2f} s after opening")
    print(f"{'control change':45} {'updated ms (median / max)':>27} {'painted ms':>16}")
    worst = 0.0
    for what, t in result["changes_ms"].items():
        worst = max(worst, t["painted_max"])
        print(f"{what:45} {t['updated_median']:12.1f} / {t['updated_max']:<8.1f}"
              f"{t['painted_median']:9.1f} / {t['painted_max']:.1f}")
    print(f"slowest change to a painted frame: {worst:.1f} ms (target under 100 ms)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
