# micrograd-kit. Every target calls the one CLI, python -m kit COMMAND (see README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check
# One stamp per install: rebuilt when pyproject.toml changes, never on every call.
SUM    := $(shell cksum < pyproject.toml | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(SUM)
extra   = $(VENV)/.extra-$(1)-$(SUM)
IMPL   ?= exercises
# A variable's value as one word of sh, whatever it holds (spaces, quotes, accents): IMPL="../my tree".
quote   = '$(subst ','\'',$(1))'
# The learner's commands: under make, the kit names its commands as make targets (kit/commands.py).
LEARN  := KIT_VIA_MAKE=1 $(PY) -m kit
# The exercise ids come from kit/exercises.py, the one place that names them.
CHECKS := $(shell $(call quote,$(PYTHON)) -m kit exercises 2>/dev/null || echo 01 02 03 04 05 06 07)
# The checks whose graphs kit explain shows.
EXPLAINED := 03 04 05 06

.PHONY: setup check test test-python lint fix soak mutation grade report bench-grade gradescope classroom merge-grades nbgrader nbgrader-grade \
        progress watch demo stubs stubs-check figures bench bench-compare \
        $(addprefix check-,$(CHECKS)) $(addprefix hint-,$(CHECKS)) $(addprefix solution-,$(CHECKS)) \
        $(addprefix explain-,$(EXPLAINED))

setup: $(STAMP)

# A local virtual environment with the kit's pinned dependencies. One that cannot serve is named with
# what to do, where it used to fail every later make alike: made by a Python older than 3.10 (macOS's
# own python3 is 3.9), or half made (Debian's python3 without python3-venv leaves one without pip).
version = $$($(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
supported = case "$(1)" in 3.1[0-9]|3.[2-9][0-9]) ;; *) false;; esac
$(STAMP): pyproject.toml
	@test -x $(PY) || { v=$(call version,$(call quote,$(PYTHON))); $(call supported,$$v) || { \
	  echo "$(PYTHON) is $${v:+Python }$${v:-not a Python that runs}, and the kit needs Python 3.10 or later: install one"; \
	  echo "(python.org, brew install python@3.12, apt install python3.12), then: make setup PYTHON=python3.12"; \
	  exit 1; }; }
	@test -x $(PY) || $(call quote,$(PYTHON)) -m venv $(VENV) || { \
	  echo "could not make $(VENV) with $(PYTHON). On Debian and Ubuntu, venv needs its own package:"; \
	  echo "sudo apt install python3-venv. Then remove $(VENV) (rm -rf $(VENV)) and make setup again."; exit 1; }
	@v=$(call version,$(PY)); $(call supported,$$v) || { \
	  echo "$(VENV) holds $${v:+Python }$${v:-a Python that does not run}, and the kit needs Python 3.10 or later."; \
	  echo "Remove it (rm -rf $(VENV)) and make setup again, with PYTHON=python3.12 if python3 is older."; \
	  exit 1; }
	@$(PY) -m pip --version >/dev/null 2>&1 || { \
	  echo "$(VENV) is half made: it has no pip (on Debian and Ubuntu, python3 -m venv needs python3-venv)."; \
	  echo "Install that (sudo apt install python3-venv), remove $(VENV) (rm -rf $(VENV)), and make setup again."; \
	  exit 1; }
	@echo "setting up $(VENV) (first run only) ..."
	@$(PIP) -e . || { echo "setup failed: could not install the kit's dependencies into $(VENV)"; exit 1; }
	@rm -f $(VENV)/.installed-* && touch $@

# An optional extra of pyproject.toml (dev, instructor, watch, docs, cluster, report, mutation, parallel), installed once.
$(VENV)/.extra-%-$(SUM): $(STAMP)
	@echo "installing the '$*' extra into $(VENV) ..."
	@$(PIP) -e '.[$*]' || { echo "could not install the '$*' extra into $(VENV)"; exit 1; }
	@rm -f $(VENV)/.extra-$*-* && touch $@

$(addprefix check-,$(CHECKS)): check-%: $(STAMP)
	@$(LEARN) check $* --impl $(call quote,$(IMPL))

check: $(STAMP)
	@$(LEARN) check all --impl $(call quote,$(IMPL))

# The kit's own suite: lint first, then the tests, which also drive nbgrader, file watching and
# matplotlib (the dev extra brings them), on two processes (pytest-xdist).
test: $(call extra,dev)
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest -n 2

# The tests that start a worker, judge or grade, on another Python (PY=/path/to/python3.12), in a
# virtual environment of its own (.venv-3.12): .ci/run runs it for every CPython 3.10-3.13 present.
PYTHON_TESTS := tests/test_progression.py tests/test_crashes.py tests/test_plugin.py tests/test_base.py \
                tests/test_styles.py tests/test_judge_server.py tests/test_stubs.py tests/test_numerics.py \
                tests/test_grading.py tests/test_collect.py tests/test_tamper.py tests/test_fences.py
test-python:
	@test -n $(call quote,$(PY)) || { echo "usage: make test-python PY=/path/to/python3.12"; exit 2; }
	@v=$(VENV)-$$($(call quote,$(PY)) -c 'import sys; print("%d.%d" % sys.version_info[:2])') || exit 1; \
	  { test -x $$v/bin/python || $(call quote,$(PY)) -m venv $$v; } && \
	  $$v/bin/python -m pip install --quiet --disable-pip-version-check -e '.[parallel]' && \
	  echo "== the kit's tests on $$($$v/bin/python --version)" && \
	  $$v/bin/python -m pytest -n 2 -m "not slow" $(PYTHON_TESTS)

lint: $(call extra,dev)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

fix: $(call extra,dev)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# Self-study (docs/ and README): progress, hints in tiers, watch mode, solutions once earned, the demo.
progress: $(STAMP)
	@$(LEARN) progress --impl $(call quote,$(IMPL))

# make hint-03: the next hint of exercise 03, one more each time; RESET=1 starts its hints over.
$(addprefix hint-,$(CHECKS)): hint-%: $(STAMP)
	@$(LEARN) hints $* $(if $(filter 1 yes true,$(RESET)),--reset)

# make explain-03: the first graph of check-03 that fails on your code, explained; STEPS=1 adds backward step by step.
$(addprefix explain-,$(EXPLAINED)): explain-%: $(STAMP)
	@$(LEARN) explain $* --impl $(call quote,$(IMPL)) $(if $(filter 1 yes true,$(STEPS)),--steps)

# Re-run the first unfinished check on every save (KIT_WATCH_POLL=1 forces polling).
watch: $(call extra,watch)
	@$(LEARN) watch --impl $(call quote,$(IMPL))

# make solution-03: the reference solution of 03 once check-03 passes; FORCE=1 shows it at once.
$(addprefix solution-,$(CHECKS)): solution-%: $(STAMP)
	@$(LEARN) solution $* --impl $(call quote,$(IMPL)) $(if $(filter 1 yes true,$(FORCE)),--force)

# The finale: train on two moons with your micrograd (the reference until all checks pass).
demo: $(STAMP)
	@$(LEARN) demo --impl $(call quote,$(IMPL)) $(if $(STEPS),--steps $(call quote,$(STEPS)))

# Instructor grading: make grade SUBMISSIONS=DIR OUT=DIR [GRADE_ARGS="--seed 1234 --jobs 2"]
grade: $(STAMP)
	@test -n $(call quote,$(SUBMISSIONS)) -a -n $(call quote,$(OUT)) || { echo "usage: make grade SUBMISSIONS=DIR OUT=DIR"; exit 2; }
	@$(PY) -m kit grade $(call quote,$(SUBMISSIONS)) $(call quote,$(OUT)) $(GRADE_ARGS)

# The class at a glance: OUT/report.html and OUT/grades-canvas.csv from OUT/grades.json
# (docs/instructor/report.md). REPORT_ARGS="--similarity SUBMISSIONS" adds the most similar pairs.
report: $(call extra,report)
	@test -n $(call quote,$(OUT)) || { echo "usage: make report OUT=DIR [REPORT_ARGS=...]"; exit 2; }
	@$(PY) -m kit report $(call quote,$(OUT)) $(REPORT_ARGS)

# Course platforms (docs/instructor/): a Gradescope autograder, an nbgrader course and its grading
# by the kit's grader, a GitHub Classroom template repository, and merging the gradebooks of shards.
gradescope: $(STAMP)
	@$(PY) -m kit gradescope --out autograder.zip $(GRADESCOPE_ARGS)

nbgrader: $(call extra,instructor)
	@$(PY) -m kit nbgrader $(NBGRADER_ARGS)

# make nbgrader-grade ASSIGNMENTS="ex01 ex02" [COURSE=nbgrader-course] [GRADE_ARGS="--jobs 4"]
nbgrader-grade: $(call extra,instructor)
	@test -n "$(ASSIGNMENTS)" || { echo 'usage: make nbgrader-grade ASSIGNMENTS="ex01 ..." [COURSE=DIR]'; exit 2; }
	@$(PY) -m kit nbgrader grade $(ASSIGNMENTS) --course $(call quote,$(or $(COURSE),nbgrader-course)) -- $(GRADE_ARGS)

classroom: $(call extra,instructor)
	@$(PY) -m kit classroom $(CLASSROOM_ARGS)

merge-grades: $(STAMP)
	@test -n "$(SHARDS)" -a -n $(call quote,$(OUT)) || { echo 'usage: make merge-grades OUT=DIR SHARDS="DIR DIR ..."'; exit 2; }
	@$(PY) -m kit merge $(call quote,$(OUT)) $(SHARDS)

bench-grade: $(STAMP)
	@$(PY) -m kit bench --grade

# This tree against commit REV on the grading mix, in paired rounds (about 25 s a round).
bench-compare: $(STAMP)
	@test -n "$(REV)" || { echo 'usage: make bench-compare REV=COMMIT [PAIRS=30]'; exit 2; }
	@$(PY) -m kit bench --compare $(call quote,$(REV)) --pairs $(call quote,$(or $(PAIRS),30))

# The long runs of the self-tests: every correct implementation at 2,000 random seeds, each mistake
# of the zoo at 200 (tests/test_seeds.py), 50 repeats of one seed.
soak: $(call extra,dev)
	KIT_SOAK=1 $(PY) -m pytest tests/test_styles.py tests/test_seeds.py

mutation: $(call extra,mutation)
	@$(PY) -m kit mutation

stubs: $(STAMP)
	@$(PY) -m kit stubs

stubs-check: $(STAMP)
	@$(PY) -m kit stubs --check

figures: $(call extra,docs)
	@$(PY) -m kit figures

# Every benchmark (about 15 minutes); writes docs/benchmarks.md.
bench: $(call extra,dev)
	@$(PY) -m kit bench
