# Sourced, not run: the one way this project makes a project-local Python environment, shared by
# scripts/python-env.sh (.venv-spark) and bench/peers-env.sh (.venv-bench).
#
#   ensure_venv NAME VENV REQUIREMENTS CHECK MIN MAX PIP_OPTIONS CANDIDATE...
#
# Reuses VENV when its stamp (the SHA-256 of REQUIREMENTS, written last, so an interrupted install
# is rebuilt) matches and `python -c CHECK` runs; otherwise recreates it with the first CANDIDATE
# python that really runs (a pyenv shim for an inactive version does not) and whose version is in
# MIN..MAX ("3.9"), and installs REQUIREMENTS with PIP_OPTIONS (may be empty). Prints the
# environment's python on stdout; everything else goes to stderr. Run from the repository root.

venv_usable() { # python min max
  "$1" -c 'import sys, venv; lo, hi = (tuple(map(int, v.split("."))) for v in sys.argv[1:3]); sys.exit(0 if lo <= sys.version_info[:2] <= hi else 1)' "$2" "$3" >/dev/null 2>&1
}

ensure_venv() {
  local name=$1 venv=$2 requirements=$3 check=$4 min=$5 max=$6 pip_options=$7
  shift 7
  local stamp="$venv/.requirements.sha256" want base="" candidate
  want=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
    echo "$PWD/$venv/bin/python"
    return 0
  fi
  for candidate in "$@"; do
    if command -v "$candidate" >/dev/null 2>&1 && venv_usable "$candidate" "$min" "$max"; then
      base=$(command -v "$candidate")
      break
    fi
  done
  if [ -z "$base" ]; then
    echo "$name: no Python $min to $max found (install python3 and python3-venv)" >&2
    return 1
  fi
  echo "$name: creating $venv with $("$base" --version 2>&1) ($base), installing $requirements" >&2
  rm -rf "$venv"
  "$base" -m venv "$venv"
  # shellcheck disable=SC2086  # PIP_OPTIONS is a list of words
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input $pip_options -r "$requirements" >&2
  echo "$want" > "$stamp"
  "$venv/bin/python" -c "$check" >&2
  echo "$PWD/$venv/bin/python"
}
