#!/bin/bash
# check-shell.sh - make checkstyle's check of the harness's shell: a function
# is defined once in test/. A helper two scripts need goes to a library they
# both source (test/lib/common.sh, test/lib/chroot.sh on the host;
# test/guest/lib.sh, test/guest/scenario.sh in the guests and the real
# hosts), not into each of them; a test function's name says whose it is.
#
# Usage: test/lib/check-shell.sh
#
# Reads every file git knows under test/ (tracked, or new and not ignored)
# that is shell: *.sh, or a first line naming sh or bash. A definition is a
# line `NAME() {` or `function NAME` outside quotes and here-documents.
# Prints one line per name defined in more than one place, "NAME: FILE:LINE
# FILE:LINE ...", and exits 1 if there is any.
#
# test/lib/check-shell.allow lists the files whose definitions are not
# counted, each with why (one "FILE  reason" a line, #-comments): files
# whose contents are another work's, until they source the libraries.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$REPO"

allow=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TEST/lib/check-shell.allow" 2>/dev/null | awk '{ print $1 }' || true)
files=()
while IFS= read -r -d '' f; do
	[[ -f $f ]] || continue
	grep -qxF -- "$f" <<<"$allow" && continue
	case $f in
	*.sh) files+=("$f") ;;
	*) head -n1 "$f" | grep -qE '^#!.*\b(ba)?sh\b' && files+=("$f") ;;
	esac
done < <(git ls-files -z --cached --others --exclude-standard -- test)

# A small lexer, not a grep: a definition counts only outside quotes and
# here-documents, so an awk program in single quotes (test/apt-mirror.sh,
# test/run.sh) or the Python in test/bench/bench.sh is not taken for shell.
dups=$(python3 - "${files[@]}" <<'PY'
import re, sys
DEF = re.compile(r'\s*(?:function\s+)?([A-Za-z_]\w*)\s*\(\)\s*(?:\{|\(|$)|\s*function\s+([A-Za-z_]\w*)\b')
HERE = re.compile(r'<<(-?)\s*([\'"]?)([A-Za-z_]\w*)\2')
where = {}
for path in sys.argv[1:]:
    state, heres = None, []
    for no, line in enumerate(open(path, errors='replace'), 1):
        line = line.rstrip('\n')
        if heres:
            strip, delim = heres[0]
            if (line.lstrip('\t') if strip else line) == delim:
                heres.pop(0)
            continue
        if state is None:
            m = DEF.match(line)
            if m:
                where.setdefault(m.group(1) or m.group(2), []).append(f'{path}:{no}')
        i = 0
        while i < len(line):
            c = line[i]
            if state == "'":
                if c == "'":
                    state = None
            elif state == '"':
                if c == '\\':
                    i += 1
                elif c == '"':
                    state = None
            elif c == '\\':
                i += 1
            elif c == '#' and (i == 0 or line[i - 1] in ' \t;('):
                break
            elif c in '\'"':
                state = c
            elif line.startswith('<<', i) and not line.startswith('<<<', i):
                m = HERE.match(line, i)
                if m:
                    heres.append((m.group(1) == '-', m.group(3)))
                    i = m.end() - 1
                else:
                    i += 1
            i += 1
for name in sorted(where):
    if len(where[name]) > 1:
        print(name + ': ' + ' '.join(where[name]))
PY
)

if [[ -n $dups ]]; then
	echo "check-shell: functions defined more than once in test/ (share them through a library):"
	echo "$dups" | sed 's/^/  /'
	exit 1
fi
echo "check-shell: ${#files[@]} shell files in test/, every function defined once"
