# The two commands of the README:
#   make serve   install, then start the server on ./agentops-data (SQLite), with a project and API key
#   make test    install everything the tests need, then run lint, types and the whole test suite
# And:
#   make lock    move every pin in requirements/*.txt to today's newest releases that satisfy
#                requirements/*.in (then run `make test` and commit both)
#   make wheels  build dist/agentops-*.whl (the SDK) and dist/agentops_server-*.whl
.PHONY: serve test test-oldest lint setup lock wheels

serve:
	@scripts/setup.sh
	@echo "==> the agentops command: .venv/bin/agentops, or \`. .venv/bin/activate\` first (e.g. in another terminal)"
	.venv/bin/agentops serve --data-dir ./agentops-data

setup:
	@scripts/setup.sh --test

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

# The integration tests again, with their agent scripts run by .venv-oldest: the oldest openai
# and anthropic releases the SDK supports (requirements/oldest.in, docs/integrations.md).
OLDEST_TESTS = tests/integrations/test_openai.py tests/integrations/test_anthropic.py \
	tests/integrations/test_lifecycle.py
test-oldest: setup
	AGENTOPS_TEST_REQUIRE_ALL=1 AGENTOPS_TEST_AGENT_PYTHON=.venv-oldest/bin/python \
		.venv/bin/python -m pytest -p no:cacheprovider -q $(OLDEST_TESTS)

# SDK coverage gate: the whole suite (server tests drive the SDK too) must cover >= 95% of
# `agentops`. Running a subset (which skips test-oldest): `make test PYTEST_ARGS=tests/sdk COVERAGE=`.
COVERAGE ?= --cov=agentops --cov-fail-under=95
test: lint $(if $(PYTEST_ARGS),,test-oldest)
	AGENTOPS_TEST_REQUIRE_ALL=1 .venv/bin/python -m pytest -p no:cacheprovider $(COVERAGE) $(PYTEST_ARGS)

lock:
	scripts/lock.sh

wheels:
	@scripts/setup.sh
	rm -rf dist
	.venv/bin/python -m pip wheel -q --no-deps --build-constraint requirements/dev.txt \
		-w dist ./sdk ./server
	@ls dist/*.whl
