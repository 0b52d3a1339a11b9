# newsmon: `make demo` and `make test` are all a newcomer needs (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export AIRFLOW_HOME ?= $(CURDIR)/var/airflow
export AIRFLOW__CORE__DAGS_FOLDER ?= $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN ?= sqlite:///$(CURDIR)/var/airflow/airflow.db

.PHONY: venv test demo airflow clean browser pg-server

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev,postgres,celery]"
	touch $(STAMP)

# The web app's browser test drives Debian's chromium through chromedriver (tests/test_browser.py).
browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver)

test: venv browser pg-server
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -ra

# The fault suite starts PostgreSQL clusters of its own (initdb, pg_ctl): Debian's server package.
pg-server:
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql)

demo: venv
	$(PY) -m newsmon.demo

# Airflow on this machine (SQLite metadata, var/airflow): newsmon airflow-setup migrates both
# databases, creates the newsmon_http pool and the newsmon_db connection, then `airflow standalone`.
airflow: venv
	mkdir -p $(AIRFLOW_HOME)
	PATH=$(abspath $(VENV))/bin:$$PATH $(VENV)/bin/newsmon airflow-setup
	PATH=$(abspath $(VENV))/bin:$$PATH $(VENV)/bin/airflow standalone

clean:
	rm -rf var .pytest_cache
