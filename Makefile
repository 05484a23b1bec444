# Sockets and Concurrency in Python
#   make lab    set up .venv (first time only) and open the course in JupyterLab
#   make test   set up .venv (first time only) and run every test (the same as `pytest` in .venv)
#   make check  the unit tests only, in under a minute: no notebook, browser or otter (the edit loop)
#   make labs   rebuild the labs' student and autograder files from labs/source/ (instructors)
# Nothing is installed outside .venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.socklab-installed
PORT   ?= 8888
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json

.PHONY: lab test check test-no-browser soak setup clean chromium labs pythons deps

setup: $(STAMP) $(LAB_SETTINGS)

# pyproject.toml declares the packages: its dependencies and the extras course and test.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
	  { echo "The course needs Python 3.11 to 3.14; '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing)."; \
	    echo "  macOS: brew install python@3.13, then: make PYTHON=python3.13"; \
	    echo "  Ubuntu 22.04 or older: sudo apt-get install python3.11 python3.11-venv, then: make PYTHON=python3.11"; \
	    echo "  anywhere: https://www.python.org/downloads/ or uv python install 3.13"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info >= (3, 15))' || \
	  echo "Note: the course is tested on Python 3.11 to 3.14; $$($(PYTHON) --version) is newer and may differ."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
	  { rm -rf $(VENV); echo "Could not create $(VENV). On Debian or Ubuntu: sudo apt-get install python3-venv, then run make again."; exit 1; }
	$(PIP) install -e '.[course,test]'
	@touch $@

# The course's JupyterLab defaults (no Jupyter news fetched from the internet, nothing to
# dismiss on a first start), where JupyterLab reads them: the environment's
# share/jupyter/lab/settings/. Copied again when the file changes; a learner's own settings win.
$(LAB_SETTINGS): jupyter/lab/settings/overrides.json $(STAMP)
	@mkdir -p $(@D)
	cp $< $@

lab: setup
	@exec $(BIN)/python tools/lab.py --port $(PORT)

CHROMIUM ?= /usr/bin/chromium

# The browser tests drive Debian's Chromium; Playwright cannot download its own here.
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Chromium from Debian's packages for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Chromium at $(CHROMIUM): sudo apt-get install chromium (or make test CHROMIUM=/path)"; exit 1; \
	  fi; }
	@test -x $(CHROMIUM) || { echo "Chromium is still missing at $(CHROMIUM)"; exit 1; }

# pytest's options (paths, timeouts, workers) are in pyproject.toml: plain `pytest` is make test.
PYTEST := $(BIN)/python -m pytest

test: setup chromium
	CHROMIUM=$(CHROMIUM) $(PYTEST) $(PYTEST_ARGS)

# The fast tier: tests marked slow (notebooks in kernels, JupyterLab in Chromium, otter) left out.
check: $(STAMP)
	$(PYTEST) -m "not slow" $(PYTEST_ARGS)

# Every test but the browser's (no Chromium needed): what make pythons runs in each Debian root.
test-no-browser: $(STAMP)
	$(PYTEST) -m "not browser" $(PYTEST_ARGS)

# After editing a lab's source (labs/source/LAB.ipynb): regenerate what learners and graders get.
# LABS="lab01_echo" rebuilds one. Grading and the rest: python tools/labs.py --help.
labs: $(STAMP)
	$(BIN)/python tools/labs.py build $(LABS)

# Measure the helpers and the course on this machine (minutes; not part of test). BENCH_ARGS="--quick" for a smoke run.
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python tools/bench.py $(BENCH_ARGS)

# Ten runs of the notebook validation with one core kept busy (minutes; not part of test).
soak: $(STAMP)
	$(BIN)/python tools/soak.py $(SOAK_ARGS)

# The tests on Python 3.13 (Debian 13) and 3.14 (Debian testing), each in a Debian root
# made by debootstrap under build/pythons/ (root only; minutes; not part of test).
pythons:
	SUITES="$(SUITES)" PYTEST_ARGS="$(PYTEST_ARGS)" tools/pythons.sh

# After editing the dependencies in pyproject.toml: rewrite requirements.txt, environment.yml
# and the autograder's requirements from it (a test fails while they are out of date).
deps:
	$(PYTHON) tools/deps.py

clean:
	rm -rf $(VENV) build *.egg-info
