#!/usr/bin/env bash
# Create .venv and install weightspace with everything it needs, on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip install -q --disable-pip-version-check)

# torch first, pinned: the CPU build of 2.13.0 (from /opt/wheels where the machine keeps it). Installing it
# first means the open range in pyproject.toml is already met and pulls in nothing larger.
FIND=()
[ -d /opt/wheels ] && FIND=(--find-links /opt/wheels)
"${PIP[@]}" "${FIND[@]}" torch==2.13.0
"${PIP[@]}" -e ".[dev,docs,dask,h5,nfn,hf,triton]"

# Fashion-MNIST: Debian ships it as a package. Elsewhere, say how to point weightspace at the files.
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    (apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 ||
      (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1)) ||
      echo "note: could not install dataset-fashion-mnist with apt-get; Fashion-MNIST tests and zoos need it."
  else
    echo "note: Fashion-MNIST not installed. Put its four IDX files in a folder and set WEIGHTSPACE_FASHION_MNIST=DIR"
    echo "      (or pass --data DIR); on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist."
  fi
fi
# Chromium: the report page's browser test drives it (with Playwright, which uses this executable; no download).
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    (apt-get install -y -qq chromium >/dev/null 2>&1 ||
      (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1)) ||
      echo "note: could not install chromium with apt-get; the report's browser test will be skipped."
  else
    echo "note: no chromium found; install it (Debian/Ubuntu: sudo apt-get install chromium) for the browser test."
  fi
fi
echo "weightspace installed in .venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
