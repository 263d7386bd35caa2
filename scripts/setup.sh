#!/usr/bin/env bash
# Installs everything agentops needs on this machine. Idempotent; fast when nothing changed.
#   scripts/setup.sh          the server and SDK in ./.venv
#   scripts/setup.sh --test   also the test tools, Debian's chromium, a running PostgreSQL,
#                             and agentops==0.3.26 in ./.venv-agentops026 for compatibility tests
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1
PYTHON=${PYTHON:-python3}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
say() { printf '==> %s\n' "$*" >&2; }

apt_updated=0
apt_install() {
    if [ "$apt_updated" = 0 ]; then
        say "apt-get update"
        as_root apt-get update -qq >/dev/null
        apt_updated=1
    fi
    say "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# 1. Python packages, reinstalled only when a dependency list changed.
[ -x .venv/bin/python ] || { say "creating .venv"; "$PYTHON" -m venv .venv; }
stamp_src="sdk/pyproject.toml server/pyproject.toml"
[ "$want_test" = 1 ] && stamp_src="$stamp_src requirements-dev.txt"
stamp=".venv/.installed-$(cat $stamp_src | sha256sum | cut -c1-16)-$want_test"
if [ ! -f "$stamp" ]; then
    say "installing Python packages into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    if [ "$want_test" = 1 ]; then
        .venv/bin/python -m pip install -q -e sdk -e server -r requirements-dev.txt
    else
        .venv/bin/python -m pip install -q -e sdk -e server
    fi
    rm -f .venv/.installed-*
    touch "$stamp"
fi

[ "$want_test" = 1 ] || exit 0

# 2. A browser for the dashboard tests (Playwright drives Debian's chromium).
command -v chromium >/dev/null 2>&1 || apt_install chromium

# 3. PostgreSQL on 127.0.0.1:5432 for the storage and end-to-end tests.
pg_up() { "$PYTHON" - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
try:
    s.connect(("127.0.0.1", 5432))
except OSError:
    sys.exit(1)
PY
}
if ! pg_up; then
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
        apt_install postgresql
    fi
    say "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
    pg_up || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
fi

# 4. The real agentops 0.3.26 client, in a virtual environment of its own (its import name is ours too).
if [ ! -x .venv-agentops026/bin/python ] || ! .venv-agentops026/bin/python -c "import agentops" 2>/dev/null; then
    say "installing agentops==0.3.26 into .venv-agentops026"
    "$PYTHON" -m venv .venv-agentops026
    .venv-agentops026/bin/python -m pip install -q "agentops==0.3.26"
fi
scripts/setup-clients.sh  # 5. agentops 0.4.21, openai-v2, OpenInference in .venv-agentops04/.venv-otel
