# The two commands of the README:
#   make serve   install, then start the server on ./agentops-data (SQLite), with a project and API key
#   make test    install everything the tests need, then run lint, types and the whole test suite
.PHONY: serve test lint setup

serve:
	@scripts/setup.sh
	.venv/bin/agentops serve --data-dir ./agentops-data

setup:
	@scripts/setup.sh --test

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

# SDK coverage gate: the whole suite (server tests drive the SDK too) must cover >= 95% of
# `agentops`. Running a subset: `make test PYTEST_ARGS=tests/sdk COVERAGE=`.
COVERAGE ?= --cov=agentops --cov-fail-under=95
test: lint
	AGENTOPS_TEST_REQUIRE_ALL=1 .venv/bin/python -m pytest -p no:cacheprovider $(COVERAGE) $(PYTEST_ARGS)
