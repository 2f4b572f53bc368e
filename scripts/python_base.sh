# Sourced by scripts/deps.sh and scripts/wheel.sh: picks the base interpreter
# for a venv, the same way for both (so the wheel is built and installed with
# the same Python). The first that can make a venv and has the C headers for
# the extension: $TST_PYTHON, then python3 on PATH (pyenv's on the polyglot
# machines), then Debian's /usr/bin/python3.
#
#   base=$(tst_python_base) || exit 1
tst_python_base() {
  local cand
  for cand in "${TST_PYTHON:-}" python3 /usr/bin/python3; do
    [ -n "$cand" ] && command -v "$cand" >/dev/null 2>&1 || continue
    if "$cand" -c 'import sys, sysconfig, os, venv, ensurepip; sys.exit(sys.version_info < (3, 10) or
                   not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null; then
      command -v "$cand"
      return 0
    fi
  done
  echo "no Python >= 3.10 with venv and C headers found (set TST_PYTHON)" >&2
  return 1
}
