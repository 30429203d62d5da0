# micrograd-kit. Every target has a plain equivalent: python -m kit ... (see README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
DEV    := $(VENV)/.dev-$(shell cksum < pyproject.toml | cut -d' ' -f1)
IMPL   ?= exercises
CHECKS := 01 02 03 04 05 06 07

.PHONY: setup check test soak mutation grade bench-grade gradescope classroom merge-grades nbgrader \
        progress watch demo $(addprefix hint-,$(CHECKS)) $(addprefix solution-,$(CHECKS)) stubs stubs-check figures bench $(addprefix check-,$(CHECKS))

setup: $(STAMP)

# A local virtual environment with the kit's pinned dependencies; rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "setting up $(VENV) (first run only) ..."
	@$(PY) -m pip install --quiet --disable-pip-version-check -e . || { echo "setup failed: could not install the kit's dependencies into $(VENV)"; exit 1; }
	@rm -f $(VENV)/.installed-* && touch $@

$(addprefix check-,$(CHECKS)): check-%: $(STAMP)
	@$(PY) -m kit check $* --impl $(IMPL)

check: $(STAMP)
	@$(PY) -m kit check all --impl $(IMPL)

# The kit's own tests also drive nbgrader, file watching and matplotlib: the extras come along.
$(DEV): $(STAMP)
	@echo "installing the test extras into $(VENV) ..."
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[instructor,watch,docs]'
	@rm -f $(VENV)/.dev-* && touch $@

# Self-study (docs/ and README): progress, hints in tiers, watch mode, solutions once earned, the demo.
progress: $(STAMP)
	@$(PY) -m kit.progress --impl $(IMPL)

# make hint-03: the next hint of exercise 03, one more each time; RESET=1 starts its hints over.
$(addprefix hint-,$(CHECKS)): hint-%: $(STAMP)
	@$(PY) -m kit.hints $* $(if $(filter 1 yes true,$(RESET)),--reset)

# Re-run the first unfinished check on every save (KIT_WATCH_POLL=1 forces polling).
watch: $(STAMP)
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[watch]'
	@$(PY) -m kit.watch --impl $(IMPL)

# make solution-03: the reference solution of 03 once check-03 passes; FORCE=1 shows it at once.
$(addprefix solution-,$(CHECKS)): solution-%: $(STAMP)
	@$(PY) -m kit.solution $* --impl $(IMPL) $(if $(filter 1 yes true,$(FORCE)),--force)

# The finale: train on two moons with your micrograd (the reference until all checks pass).
demo: $(STAMP)
	@$(PY) -m kit.demo --impl $(IMPL) $(if $(STEPS),--steps $(STEPS))

test: $(DEV)
	$(PY) -m pytest

# Instructor grading: make grade SUBMISSIONS=DIR OUT=DIR [GRADE_ARGS="--seed 1234 --jobs 2"]
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" -a -n "$(OUT)" || { echo "usage: make grade SUBMISSIONS=DIR OUT=DIR"; exit 2; }
	@$(PY) -m kit grade "$(SUBMISSIONS)" "$(OUT)" $(GRADE_ARGS)

# Course platforms (docs/instructor/): a Gradescope autograder, a GitHub Classroom workflow,
# and merging the gradebooks of shards graded on several machines.
gradescope: $(STAMP)
	@$(PY) -m kit.gradescope --out autograder.zip $(GRADE_ARGS)

nbgrader: $(STAMP)
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[instructor]'
	@$(PY) -m kit.nbgrader $(NBGRADER_ARGS)

classroom: $(STAMP)
	@$(PY) -m kit.classroom

merge-grades: $(STAMP)
	@test -n "$(SHARDS)" -a -n "$(OUT)" || { echo 'usage: make merge-grades OUT=DIR SHARDS="DIR DIR ..."'; exit 2; }
	@$(PY) -m kit.merge "$(OUT)" $(SHARDS)

bench-grade: $(STAMP)
	@$(PY) -m kit.bench --grade

# The long runs of the self-tests: 20 seeds per correct implementation, 50 repeats of one seed.
soak: $(DEV)
	KIT_SOAK=1 $(PY) -m pytest tests/test_styles.py

mutation: $(STAMP)
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[mutation]'
	@$(PY) -m kit.mutation

stubs: $(STAMP)
	@$(PY) -m kit stubs

stubs-check: $(STAMP)
	@$(PY) -m kit stubs --check

figures: $(STAMP)
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[docs]'
	@$(PY) -m kit.figures

# Every benchmark (about 15 minutes); writes docs/benchmarks.md.
bench: $(DEV)
	@$(PY) -m kit.bench
