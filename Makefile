# Boston 311 data lake. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
LAKE   ?= ./lake
# The lake as one shell word: a path with a space stays one path (unquoted, `make clean LAKE="/data/my lake"`
# deleted /data/my and ./lake); a leading ~/ is the home folder, as the shell would have expanded it. subst, not
# patsubst: patsubst works word by word ("/data/my  lake" lost a space, "~bob/x" became $HOME + "bob/x").
LAKE_ARG = $(subst '~/,'$(HOME)/,'$(subst ','\'',$(LAKE))')
# Spark 3.5 needs Java 17 (a newer JDK on the PATH breaks it): pin JAVA_HOME unless given on the command line.
JAVA17 := $(firstword $(wildcard /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64 /usr/lib/jvm/java-17-openjdk* /usr/lib/jvm/temurin-17* /Library/Java/JavaVirtualMachines/*17*/Contents/Home \
  /opt/homebrew/opt/openjdk@17/libexec/openjdk.jdk/Contents/Home /usr/local/opt/openjdk@17/libexec/openjdk.jdk/Contents/Home))
ifneq ($(origin JAVA_HOME),command line)
  ifneq ($(JAVA17),)
    JAVA_HOME := $(JAVA17)
  endif
endif
export JAVA_HOME
# Python 3.11, as Glue 5.0: the first line of every recipe that makes a virtualenv
REQUIRE_PYTHON_311 = @$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || \
  { echo "Python 3.11 is required: install it, or run make PYTHON=/path/to/python3.11."; exit 2; }
export PYSPARK_PYTHON := $(abspath $(PY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(PY))

.PHONY: help setup lock java run demo test test-pyspark coverage lint format bench-ingest bench-silver bench-gold clean

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: requirements.txt constraints.txt
	$(REQUIRE_PYTHON_311)
	@$(PY) -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }  # none yet, or half-made
	$(PY) -m pip install --quiet --upgrade pip setuptools -c constraints.txt  # both come with the Python, in its own versions
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	@touch $@

setup: $(VENV)/.installed ## create the virtualenv and install the pinned requirements (done by every target that needs it)

# constraints.txt is what a scratch virtualenv gets from requirements.txt alone (its header kept): the versions of
# everything pulled in, pinned. Run after changing requirements.txt, then make test, then commit both files.
lock: ## re-pin constraints.txt (every package requirements.txt pulls in) from a scratch virtualenv; needs PyPI
	$(REQUIRE_PYTHON_311)
	rm -rf $(VENV)-lock && $(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install --quiet --upgrade pip
	$(VENV)-lock/bin/python -m pip install --quiet -r requirements.txt
	{ grep '^#' constraints.txt; $(VENV)-lock/bin/python -m pip freeze --all | sort -f; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf $(VENV)-lock

java: ## check that JAVA_HOME is a Java 17 (Spark 3.5 needs it)
	@test -n "$(JAVA_HOME)" && "$(JAVA_HOME)/bin/java" -version 2>&1 | grep -q 'version "17' || \
	  { echo "Java 17 is required by Spark 3.5: install it (Debian: apt-get install openjdk-17-jre-headless) or run make JAVA_HOME=/path/to/jdk-17."; exit 2; }

run: setup java ## the whole pipeline on the embedded default: real portal -> ./lake -> Gold -> DuckDB + dashboard
	$(PY) scripts/run_pipeline.py --lake $(LAKE_ARG) $(ARGS)

demo: setup java ## the same pipeline offline, against the built-in portal stand-in
	$(PY) scripts/run_pipeline.py --lake $(LAKE_ARG) --offline $(ARGS)

# pytest-xdist workers: one per CPU, at most 4 (each starts its own Spark JVMs); TEST_WORKERS=0 runs in one process.
# --dist loadfile keeps a test file whole on one worker (tests/conftest.py), so its shared lakes are built once.
TEST_WORKERS ?= logical
XDIST = -n $(TEST_WORKERS) --maxprocesses 4 --dist loadfile
test: setup java ## run the test suite on up to 4 cores (loopback portal, moto, local Spark, headless Chromium)
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests ran"; exit 0; fi; exit $$rc

# The Spark tests on the Spark AWS runs rather than constraints.txt's: Glue 5.0 runs 3.5.4, EMR 7.x 3.5.0 to 3.5.6
# (docs/infra.md, "The runtimes AWS runs"). A virtualenv of its own per version, everything else pinned as in .venv
# (pyspark's py4j is the one that pyspark asks for). Not part of make test: about 20 minutes on 2 cores in one process.
PYSPARK ?= 3.5.0
SPARK_TESTS := tests/test_silver_*.py tests/test_gold_*.py tests/test_athena_sql.py tests/test_calendar.py \
  tests/test_pipeline_*.py tests/test_crash_points.py tests/test_spark_laptop_settings.py
.PRECIOUS: $(VENV)-pyspark-%/.installed
$(VENV)-pyspark-%/.installed: requirements.txt constraints.txt
	$(REQUIRE_PYTHON_311)
	rm -rf $(VENV)-pyspark-$* && $(PYTHON) -m venv $(VENV)-pyspark-$*
	sed 's/^pyspark==.*/pyspark==$*/' requirements.txt > $(VENV)-pyspark-$*/requirements.txt
	grep -v -E '^(pyspark|py4j)==' constraints.txt > $(VENV)-pyspark-$*/constraints.txt
	$(VENV)-pyspark-$*/bin/python -m pip install --quiet --upgrade pip setuptools -c constraints.txt
	$(VENV)-pyspark-$*/bin/python -m pip install --quiet -r $(VENV)-pyspark-$*/requirements.txt -c $(VENV)-pyspark-$*/constraints.txt
	@touch $@

test-pyspark: $(VENV)-pyspark-$(PYSPARK)/.installed java ## the Spark tests on another pyspark: make test-pyspark PYSPARK=3.5.0 (EMR 7.0's; 3.5.4 is Glue 5.0's)
	PYSPARK_PYTHON='$(abspath $(VENV)-pyspark-$(PYSPARK))/bin/python' PYSPARK_DRIVER_PYTHON='$(abspath $(VENV)-pyspark-$(PYSPARK))/bin/python' \
	  $(VENV)-pyspark-$(PYSPARK)/bin/python -m pytest $(XDIST) $(or $(PYTEST_ARGS),$(SPARK_TESTS))

# Every Python the suite starts (the CLIs, spark-submit's driver) is measured too: COVERAGE_PROCESS_START makes coverage's
# own .pth start it there, and COVERAGE_ROOT puts their data beside .coveragerc whatever folder they run in.
coverage: setup java ## the test suite under branch coverage, subprocesses too; prints line and branch coverage per file (~15 min)
	rm -f .coverage .coverage.*
	COVERAGE_ROOT='$(CURDIR)' COVERAGE_PROCESS_START='$(CURDIR)/.coveragerc' $(PY) -m coverage run -m pytest -p no:cacheprovider $(PYTEST_ARGS); \
	  rc=$$?; COVERAGE_ROOT='$(CURDIR)' $(PY) -m coverage combine -q && COVERAGE_ROOT='$(CURDIR)' $(PY) -m coverage report; exit $$rc

lint: setup ## ruff lint and format check; vulture's unused code (pyproject.toml); cfn-lint on the CloudFormation stack
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/vulture
	$(VENV)/bin/cfn-lint infra/boston311.yaml

format: setup ## apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench-ingest: setup ## benchmark Bronze ingest against curl (1 GB file on loopback)
	$(PY) bench/ingest.py $(ARGS)

bench-silver: setup java ## benchmark the Silver job against a bare Spark conversion, the Spark floor and DuckDB
	$(PY) bench/silver.py $(ARGS)

bench-gold: setup java ## benchmark the Gold job against DuckDB
	$(PY) bench/gold.py $(ARGS)

clean: ## remove the local lake and caches (keeps the virtualenv)
	rm -rf -- $(LAKE_ARG) .pytest_cache .ruff_cache test-artifacts bench/out spark-warehouse .coverage .coverage.*
