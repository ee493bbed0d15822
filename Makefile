# swisbayes: set-up, main job and tests. `make run` and `make test` are all a fresh machine needs.
#
# The virtual environment lives in .venv and is (re)installed only when pyproject.toml changes,
# so re-running a target is fast. Python >= 3.12 is required (PyMC 6); the first interpreter found
# among python3.12, python3.13, python3.14, python3 and pyenv's installed versions is used.

VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
OUT    ?= out

.PHONY: setup run test test-fast lint bench clean browser

setup: $(STAMP)

$(STAMP): pyproject.toml
	@set -e; \
	if [ -x "$(PY)" ] && ! "$(PY)" -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
	  echo "error: $(VENV) uses Python $$($(PY) -c 'import platform; print(platform.python_version())'); swisbayes needs Python >= 3.12. Remove $(VENV) and re-run." >&2; exit 1; \
	fi; \
	if [ ! -x "$(PY)" ]; then \
	  found=""; \
	  for c in python3.12 python3.13 python3.14 python3 \
	           $$(ls -d "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2>/dev/null); do \
	    if "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then found="$$c"; break; fi; \
	  done; \
	  if [ -z "$$found" ]; then \
	    echo "error: swisbayes needs Python >= 3.12 (PyMC 6 requires it), and none was found." >&2; \
	    echo "       Tried python3.12, python3.13, python3.14, python3 and pyenv's versions." >&2; \
	    echo "       Install one (e.g. 'pyenv install 3.12') and run make again." >&2; exit 1; \
	  fi; \
	  echo "Creating $(VENV) with $$found ($$("$$found" -c 'import platform; print(platform.python_version())'))"; \
	  "$$found" -m venv "$(VENV)"; \
	fi; \
	"$(PY)" -m pip install --quiet --upgrade pip; \
	"$(PY)" -m pip install --quiet -e ".[dev]"; \
	touch "$(STAMP)"

# The main job: the decision report on the bundled (synthetic) SWIS data: every outcome under
# the standard priors, value for money, the verdict and what would change it.
run: $(STAMP)
	$(VENV)/bin/swisbayes report --out $(OUT)/report.html

# The report's browser tests render it in headless Chromium (Debian's package) and drive its
# What if? panel through chromedriver (Debian's chromium-driver, the same version): install them
# when missing (as root, or through sudo).
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium and chromium-driver for the report's browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; \
	fi

# The whole suite, slow statistical checks included, on both cores; the 20 slowest tests are
# listed at the end (where a fresh machine's time goes).
test: $(STAMP) browser
	$(PY) -m pytest -n 2 --dist loadgroup --durations=20

# Inner loop: everything but the MCMC-heavy statistical checks.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check swisbayes tests benchmarks notebooks

# Side-by-side timings (ratios against a baseline measured in the same run), not tests.
bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	$(PY) benchmarks/bench_fit.py
	$(PY) benchmarks/bench_fast_paths.py
	$(PY) benchmarks/bench_reanalyse.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
