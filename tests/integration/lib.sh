# tests/integration/lib.sh -- sourced by every tests/integration/t_*.sh.
#
# Gives a test a private temporary directory ($T, removed on exit by a trap,
# and the current directory, so a stray ./logaudit.db never lands in the
# source tree), TAP helpers, and the paths the harness passes in:
#   LOGAUDIT     the binary           (by hand: ../../logaudit from here)
#   TEST_SRCDIR  the tests/ directory (by hand: this script's ../)
#   PYTHON3      python3 for independent.py (by hand: python3)
# `make check` sets all three (AM_TESTS_ENVIRONMENT in Makefile.am).
# Plain POSIX sh: the tests run under whatever shell the harness picks.
#
# TAP helpers (output on stdout, which the automake TAP driver reads):
#   plan N                 print the plan first (or let done_testing do it)
#   ok STATUS NAME         pass when STATUS, an exit status, is 0
#   is GOT WANT NAME       pass when the strings are equal; else prints
#                          # got "x", want "y"
#   skip NAME REASON       a passing test marked # SKIP
#   diag TEXT...           a "# " diagnostic line per line of TEXT
#   diag_file FILE [N]     the first N (default 20) lines of FILE as diagnostics
#   skip_all REASON        1..0 # SKIP, then exit 0
#   bail_out REASON        Bail out!, then exit 1
#   done_testing           the plan if none was printed; exit 1 on failures
# And one for the ingest summary line that logaudit writes on stderr,
#   "logaudit: FILE: 100 entries, 100 counted, 0 duplicates, 0 too old,
#    0 bad, 0 lines skipped (array)":
#   summary_count FILE WORDS   the number before WORDS ("counted",
#                          "lines skipped", ...) on the last such line in
#                          FILE, or nothing when there is no such line

_lib_dir=$(cd "$(dirname "$0")" && pwd)

: "${TEST_SRCDIR:=$(cd "$_lib_dir/.." && pwd)}"
: "${LOGAUDIT:=$(cd "$_lib_dir/../.." && pwd)/logaudit}"
: "${PYTHON3:=python3}"
export TEST_SRCDIR LOGAUDIT PYTHON3
if [ -z "${LOGAUDIT_PATTERNS:-}" ] && [ -d "$TEST_SRCDIR/../patterns" ]; then
	LOGAUDIT_PATTERNS=$(cd "$TEST_SRCDIR/../patterns" && pwd)
	export LOGAUDIT_PATTERNS
fi
unset LOGAUDIT_DB		# every test names its database with --db
if [ ! -x "$LOGAUDIT" ]; then
	# never let a missing binary pass as "same output on both sides"
	echo "Bail out! no logaudit binary at $LOGAUDIT"
	exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/logaudit-test.XXXXXX") || {
	echo "Bail out! mktemp -d failed"
	exit 1
}
trap 'rm -rf "$T"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$T" || exit 1

_tap_n=0
_tap_failed=0
_tap_planned=0

plan()
{
	echo "1..$1"
	_tap_planned=1
}

ok()
{
	_tap_n=$((_tap_n + 1))
	if [ "$1" -eq 0 ] 2>/dev/null; then
		echo "ok $_tap_n - $2"
		return 0
	fi
	echo "not ok $_tap_n - $2"
	_tap_failed=$((_tap_failed + 1))
	return 1
}

is()
{
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
		return 0
	fi
	ok 1 "$3"
	printf '# got "%s", want "%s"\n' "$1" "$2"
	return 1
}

skip()
{
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP $2"
}

diag()
{
	printf '%s\n' "$*" | sed 's/^/# /'
}

diag_file()
{
	[ -f "$1" ] || return 0
	head -n "${2:-20}" "$1" | sed 's/^/#   /'
}

skip_all()
{
	echo "1..0 # SKIP $*"
	exit 0
}

bail_out()
{
	echo "Bail out! $*"
	exit 1
}

done_testing()
{
	[ "$_tap_planned" -eq 1 ] || echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ] || exit 1
	exit 0
}

summary_count()
{
	grep -E '^logaudit: .*: [0-9]+ entries, ' "$1" 2>/dev/null | tail -n 1 |
	    sed -n "s/.*[ ,(]\\([0-9][0-9]*\\) $2[,( ].*/\\1/p;
	        s/.*[ ,(]\\([0-9][0-9]*\\) $2\$/\\1/p" | head -n 1
}

# Helpers for tests that check numbers in the store (added for t_cli,
# t_dedup, t_badinput, t_large):
#   rev_total DB [FIELD]   the sum of FIELD (default "entries") over the
#                          revisions of `logaudit revisions --format json`;
#                          nothing when the command or its JSON fails
#   db_value DB SQL        the first column of the first row of SQL, read
#                          with python3's sqlite3 module (no sqlite3 CLI
#                          needed); "None" for NULL, nothing for no row
#   rss_run KIBFILE CMD... run CMD (stdin, stdout and stderr as given) and
#                          write its peak resident set size in KiB to
#                          KIBFILE; returns CMD's exit status
rev_total()
{
	"$LOGAUDIT" revisions --db "$1" --format json 2>/dev/null |
	    "$PYTHON3" -c '
import json, sys
doc = json.load(sys.stdin)
print(sum(r[sys.argv[1]] for r in doc["revisions"]))' "${2:-entries}" \
	    2>/dev/null
}

db_value()
{
	"$PYTHON3" -c '
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
row = con.execute(sys.argv[2]).fetchone()
if row is not None:
    print(row[0])' "$1" "$2"
}

rss_run()
{
	"$PYTHON3" -c '
import resource, subprocess, sys
rc = subprocess.run(sys.argv[2:]).returncode
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc if rc >= 0 else 128 - rc)' "$@"
}

# Helpers for the daemon and server tests (t_follow*, t_pull, t_alert):
#   until_ok SECONDS CMD...  run CMD every 0.1 s until it succeeds; 1 when
#                            SECONDS pass first
#   wait_port FILE WHAT      wait up to 10 s for a server to write its port
#                            to FILE; bail out naming WHAT when it does not
#   revs DB                  `logaudit revisions --format json` without the
#                            samples, which name whichever entry of a
#                            pattern was counted first (follow reads files
#                            in another order than ingest)
until_ok()
{
	_d=$(($1 * 10))
	shift
	while ! "$@"; do
		_d=$((_d - 1))
		[ "$_d" -gt 0 ] || return 1
		sleep 0.1
	done
	return 0
}

wait_port()
{
	_i=0
	while [ ! -s "$1" ] && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -s "$1" ] || bail_out "$2 did not start"
}

revs()
{
	"$LOGAUDIT" revisions --db "$1" --format json | "$PYTHON3" -c '
import json, sys
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k != "sample"}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
print(json.dumps(strip(json.load(sys.stdin)), indent=1, sort_keys=True))'
}
