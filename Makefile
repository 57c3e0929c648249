# letterhead: everything a fresh machine needs, from two commands.
#   make demo   build Calndr Club's templates and show what was produced
#   make test   run the test suite (installs Debian's chromium for browser tests)
.PHONY: install chromium demo test bench clean

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Browser tests need a real Chromium; Playwright's own download does not work
# offline, so use Debian's package (root on CI and dev machines).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo: install
	$(VENV)/bin/letterhead build
	@echo
	@echo "SES payloads (what sync uploads):"
	@ls -1 ses_templates/
	@echo
	@echo "Compiled templates and rendered samples (open the .html files in a browser):"
	@find build -name '*.html' | sort
	@echo
	@echo "The invitation's text part, rendered with its default sample, as SES would send it:"
	$(VENV)/bin/letterhead render coparent_invitation --part text
	$(VENV)/bin/letterhead preview --export preview/
	$(PY) -m letterhead.demo

test: install chromium
	$(PY) -m pytest -q

bench: install
	$(PY) bench/build.py

clean:
	rm -rf $(VENV) .pytest_cache
