#!/usr/bin/env bash
# Print the path of a Python interpreter of version $1 (e.g. 3.10), or fail clearly.
# Looks at PYTHON<major><minor> (e.g. PYTHON310), then python3.X on PATH, then pyenv.
set -euo pipefail
want="${1:?usage: find_python.sh 3.10}"
var="PYTHON${want/./}"
candidates=()
[ -n "${!var:-}" ] && candidates+=("${!var}")
candidates+=("python$want")
if command -v pyenv >/dev/null 2>&1; then
  root="$(pyenv root)"
  for d in $(ls -d "$root"/versions/"$want".* 2>/dev/null | sort -V -r); do
    candidates+=("$d/bin/python$want")
  done
fi
for c in "${candidates[@]}"; do
  if p="$(command -v "$c" 2>/dev/null)" && "$p" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$want'.split('.')))" 2>/dev/null; then
    echo "$p"
    exit 0
  fi
done
echo "error: Python $want not found. Install it (e.g. 'pyenv install $want') or set $var=/path/to/python$want." >&2
exit 1
