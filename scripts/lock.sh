#!/usr/bin/env bash
# Regenerates the pins: for each requirements/NAME.in, a fresh virtual environment installs it
# from the package index (newest releases that satisfy it) and requirements/NAME.txt receives
# every installed package with its exact version. `make lock` runs it for every .in file;
# `scripts/lock.sh dev` for one. Then run `make test` and commit the .in and .txt files together.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

names=("$@")
if [ ${#names[@]} = 0 ]; then
    for path in requirements/*.in; do names+=("$(basename "$path" .in)"); done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for name in "${names[@]}"; do
    src="requirements/$name.in"
    [ -f "$src" ] || { echo "no $src" >&2; exit 1; }
    echo "==> locking $src" >&2
    "$PYTHON" -m venv "$work/$name"
    "$work/$name/bin/python" -m pip install -q --upgrade pip
    "$work/$name/bin/python" -m pip install -q -r "$src"
    {
        echo "# Generated from $src by \`make lock\` (scripts/lock.sh) with $("$PYTHON" -V)"
        echo "# on $(uname -s) $(uname -m). Do not edit: change $src and run \`make lock\`."
        # --all keeps pip itself; setuptools and wheel come with the interpreter's venv and
        # build nothing of ours (hatchling builds ./sdk and ./server).
        "$work/$name/bin/python" -m pip freeze --all --exclude-editable \
            | grep -vE '^(setuptools|wheel)==' | grep -v '^#' | LC_ALL=C sort -f -t= -k1,1
    } > "requirements/$name.txt"
    echo "    wrote requirements/$name.txt ($(grep -c '==' "requirements/$name.txt") pins)" >&2
done
