#!/usr/bin/env bash
# Create eval/.venv with the pinned peers the evaluation suite compares datavet against.
# Idempotent: re-running only installs what is missing or differs from the pins.
#
#   bash eval/setup.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
py="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$here/requirements-data.txt"
"$venv/bin/python" - <<'PY'
import cleanlab, numpy, pandas, pyarrow, pyod, sklearn
from cleanlab import Datalab
Datalab(data={"y": [0, 1]}, label_name="y", verbosity=0)  # fails early without Datalab's extras
print("eval venv ready:", ", ".join(f"{m.__name__} {m.__version__}" for m in (numpy, pandas, sklearn, cleanlab, pyod, pyarrow)))
PY
