# Sockets and Concurrency in Python
#   make lab    set up .venv (first time only) and open the course in JupyterLab
#   make test   set up .venv (first time only) and run every test (the same as `pytest` in .venv)
#   make check  the unit tests only, in under a minute: no notebook, browser or otter (the edit loop)
#   make labs   rebuild the labs' student and autograder files from labs/source/ (instructors)
#   make lock   resolve pyproject.toml's ranges again into requirements.lock (maintainers)
#   make site   the course's website from the saved notebooks, in build/site/html (its tools in build/site-venv)
#   make classroom  a one-machine JupyterHub's environment (build/classroom-venv) and proxy (classroom/node_modules)
# Nothing is installed outside .venv (and build/site-venv, build/classroom-venv, classroom/node_modules).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8888
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet
LOCK   := requirements.lock
# DEPS=locked (the default): the versions pinned in requirements.lock, the same for every
# learner, CI run and grader. DEPS=newest: the newest versions pyproject.toml's ranges allow
# today (the weekly CI run, to find a new release that breaks the course before learners do).
DEPS   ?= locked
ifeq ($(filter $(DEPS),locked newest),)
$(error DEPS=$(DEPS) is not a choice: DEPS=locked (requirements.lock, the default) or DEPS=newest (the newest versions pyproject.toml allows))
endif
STAMP  := $(VENV)/.socklab-installed-$(DEPS)
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json

.PHONY: lab test check test-no-browser soak setup clean chromium labs pythons deps lock site site-venv cjk-font classroom classroom-tools

setup: $(STAMP) $(LAB_SETTINGS)

$(LOCK):
	@test -f $@ || { echo "$@ is missing: run make lock (or make test DEPS=newest to install without it)"; exit 1; }

# pyproject.toml declares the packages (its dependencies and the extras course and test);
# requirements.lock pins them and what they need.
$(STAMP): pyproject.toml $(if $(filter locked,$(DEPS)),$(LOCK))
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
	  { echo "The course needs Python 3.11 to 3.14; '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing)."; \
	    echo "  macOS: brew install python@3.13, then: make PYTHON=python3.13"; \
	    echo "  Ubuntu 22.04 or older: sudo apt-get install python3.11 python3.11-venv, then: make PYTHON=python3.11"; \
	    echo "  anywhere: https://www.python.org/downloads/ or uv python install 3.13"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info >= (3, 15))' || \
	  echo "Note: the course is tested on Python 3.11 to 3.14; $$($(PYTHON) --version) is newer and may differ."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
	  { rm -rf $(VENV); echo "Could not create $(VENV). On Debian or Ubuntu: sudo apt-get install python3-venv, then run make again."; exit 1; }
ifeq ($(DEPS),newest)
	$(PIP) install --upgrade --upgrade-strategy eager -e '.[course,classroom,test]'
else
	$(PIP) install -r $(LOCK)
	$(PIP) install --no-deps -e .
endif
	@rm -f $(VENV)/.socklab-installed*
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

# The website's test (tests/test_site.py) checks the glossary's Chinese is drawn, not empty boxes:
# that needs a font with Chinese characters (Debian's smallest: fonts-wqy-microhei, 1.6 MB).
# Where fontconfig is absent (macOS), the system's own fonts have them.
cjk-font:
	@! command -v fc-list >/dev/null || [ -n "$$(fc-list :lang=zh family)" ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing a Chinese font from Debian's packages for the website's test..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null; \
	  else \
	    echo "The website's test needs a font with Chinese characters: sudo apt-get install fonts-wqy-microhei"; exit 1; \
	  fi; }

# pytest's options (paths, timeouts, workers) are in pyproject.toml: plain `pytest` is make test.
PYTEST := $(BIN)/python -m pytest

# As root, the classroom test (tests/test_classroom.py) runs a JupyterHub with Unix accounts: it
# needs the hub's environment; as an ordinary user that test says why it cannot run.
test: setup chromium cjk-font $(if $(filter 0,$(shell id -u)),classroom)
	CHROMIUM=$(CHROMIUM) SOCKLAB_CLASSROOM_VENV=$(abspath $(CLASSROOM_VENV)) $(PYTEST) $(PYTEST_ARGS)

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

# The website: Jupyter Book 1.x in a venv of its own (site/requirements.txt, pinned), built from
# the saved notebooks without running them (site/build.py). SITE_ARGS="--repository
# https://github.com/OWNER/REPO" adds Binder launch buttons. tests/test_site.py builds it too.
SITE_VENV  := build/site-venv
SITE_STAMP := $(SITE_VENV)/.site-installed

$(SITE_STAMP): site/requirements.txt
	@test -x $(SITE_VENV)/bin/python || $(PYTHON) -m venv $(SITE_VENV) || \
	  { rm -rf $(SITE_VENV); echo "Could not create $(SITE_VENV). On Debian or Ubuntu: sudo apt-get install python3-venv, then run make again."; exit 1; }
	$(SITE_VENV)/bin/python -m pip --disable-pip-version-check --quiet install -r site/requirements.txt
	@touch $@

site-venv: $(SITE_STAMP)

site: $(SITE_STAMP)
	$(SITE_VENV)/bin/python site/build.py $(SITE_ARGS)

# Measure the helpers and the course on this machine (minutes; not part of test). BENCH_ARGS="--quick" for a smoke run.
# A one-machine JupyterHub (classroom/jupyterhub_config.py): the course's packages, jupyterhub
# and nbgitpuller included, in a venv every learner's account can run. socklab is installed
# editable, so `git pull` in the hub's checkout updates the labs' checks for every new kernel. Its Python must be one
# every account can read (the system's /usr/bin/python3, not one under /root or a home), and
# so must the folder it is in. The proxy, configurable-http-proxy, comes from npm, pinned by
# classroom/package-lock.json.
CLASSROOM_PYTHON ?= /usr/bin/python3
# In the checkout when other accounts can read it; else (a checkout under /root, say) in
# /var/tmp, with socklab copied in rather than linked to the checkout they cannot read.
CLASSROOM_SHARED := $(shell { [ "$$(id -u)" != 0 ] || setpriv --reuid=nobody --regid=nogroup --clear-groups \
                      test -r '$(CURDIR)/Makefile'; } 2>/dev/null && echo yes)
CLASSROOM_VENV   ?= $(if $(CLASSROOM_SHARED),build/classroom-venv,/var/tmp/socklab-classroom-venv)
EDITABLE         := $(if $(CLASSROOM_SHARED),-e)
CLASSROOM_STAMP  := $(CLASSROOM_VENV)/.socklab-installed
PROXY            := classroom/node_modules/.bin/configurable-http-proxy

$(CLASSROOM_STAMP): $(if $(filter locked,$(DEPS)),$(LOCK)) pyproject.toml jupyter/lab/settings/overrides.json
	@test -x $(CLASSROOM_PYTHON) || { echo "The classroom's environment needs a Python every account can run at $(CLASSROOM_PYTHON): sudo apt-get install python3 python3-venv, or make classroom CLASSROOM_PYTHON=/path"; exit 1; }
	@test -x $(CLASSROOM_VENV)/bin/python || $(CLASSROOM_PYTHON) -m venv $(CLASSROOM_VENV) || \
	  { rm -rf $(CLASSROOM_VENV); echo "Could not create $(CLASSROOM_VENV). On Debian or Ubuntu: sudo apt-get install python3-venv"; exit 1; }
ifeq ($(DEPS),newest)
	$(CLASSROOM_VENV)/bin/python -m pip --disable-pip-version-check --quiet install --upgrade --upgrade-strategy eager $(EDITABLE) '.[course,classroom]'
else
	$(CLASSROOM_VENV)/bin/python -m pip --disable-pip-version-check --quiet install -r $(LOCK)
	$(CLASSROOM_VENV)/bin/python -m pip --disable-pip-version-check --quiet install --no-deps $(EDITABLE) .
endif
	@mkdir -p $(CLASSROOM_VENV)/share/jupyter/lab/settings
	cp jupyter/lab/settings/overrides.json $(CLASSROOM_VENV)/share/jupyter/lab/settings/
	@touch $@

$(PROXY): classroom/package.json classroom/package-lock.json
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Node.js and npm from Debian's packages for the classroom's proxy..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else \
	    echo "The classroom's proxy needs Node.js 18 or newer and npm: sudo apt-get install nodejs npm"; exit 1; \
	  fi; }
	npm ci --prefix classroom --no-audit --no-fund --loglevel=error
	@touch $@

# classroom/netns_spawner.py (a loopback per learner) drives iproute2's ip and nftables' nft;
# installed as root where apt-get is, as the classroom's tests need them.
classroom-tools:
	@[ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || { \
	  missing=""; command -v ip >/dev/null || missing="$$missing iproute2"; \
	  command -v nft >/dev/null || PATH=$$PATH:/usr/sbin command -v nft >/dev/null || missing="$$missing nftables"; \
	  [ -z "$$missing" ] || { echo "Installing$$missing from Debian's packages for the classroom's network namespaces..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; }; }

classroom: $(CLASSROOM_STAMP) $(PROXY) classroom-tools
	@[ -n "$(CLASSROOM_SHARED)" ] || echo "Other accounts cannot read this checkout: the hub's environment is $(CLASSROOM_VENV) (run the hub with SOCKLAB_VENV=$(CLASSROOM_VENV))"

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

# After changing a range in pyproject.toml, or to take newer releases for a new term:
# resolve the ranges again into requirements.lock (uv pip compile --universal: Linux and
# macOS, Python 3.11 to 3.14), then rewrite the files make deps writes. uv goes into .venv.
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install 'uv>=0.5'
	$(BIN)/python tools/deps.py --lock

clean:
	rm -rf $(VENV) build *.egg-info
