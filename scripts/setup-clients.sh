#!/usr/bin/env bash
# Installs the real third-party OpenTelemetry clients the end-to-end tests run, each into a
# virtual environment of its own, from exactly pinned requirement files. Idempotent: a venv is
# rebuilt only when its requirements file changed (a stamp holds the file's hash).
#   ./.venv-agentops04   requirements/agentops04.txt        (agentops==0.4.21)
#   ./.venv-otel         requirements/otel-instrumentations.txt (openai-v2, OpenInference)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
say() { printf '==> %s\n' "$*" >&2; }

install_venv() {
    local venv=$1 requirements=$2
    local stamp="$venv/.installed-$(sha256sum "$requirements" | cut -c1-16)"
    if [ -f "$stamp" ] && [ -x "$venv/bin/python" ]; then
        return
    fi
    say "installing $requirements into $venv"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
    local broken
    broken=$("$venv/bin/python" -m pip check) || { echo "$broken" >&2; exit 1; }
    touch "$stamp"
}

install_venv .venv-agentops04 requirements/agentops04.txt
install_venv .venv-otel requirements/otel-instrumentations.txt
