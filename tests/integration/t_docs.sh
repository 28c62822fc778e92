#!/bin/sh
#
# t_docs.sh -- the documentation keeps up with the binary: every long
# option that a command's --help names is in that command's section of
# logaudit(1) (".SS logaudit CMD"), and both man pages render with groff
# without a warning (skipped without groff).

. "$(dirname "$0")/lib.sh"

MAN1="$TEST_SRCDIR/../man/logaudit.1"
MAN5="$TEST_SRCDIR/../man/logaudit-patterns.5"
# --format in ingest's help is gcloud's ("--format=json"), not its own
OTHERS="ingest:--format"

for cmd in ingest follow pull findings match revisions diff ack trend \
    patterns templates fingerprint; do
	"$LOGAUDIT" "$cmd" --help > help.txt 2>&1
	is $? 0 "$cmd --help exits 0"
	awk -v c="$cmd" '/^\.SS logaudit /{ p = ($3 == c) } /^\.SH /{ p = 0 }
	    p' "$MAN1" > section.txt
	missing=
	n=0
	for opt in $(grep -o -- '--[a-z][a-z0-9-]*' help.txt | sort -u); do
		case " $OTHERS " in *" $cmd:$opt "*) continue ;; esac
		n=$((n + 1))
		esc=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
		grep -q -- "$esc" section.txt || missing="$missing $opt"
	done
	is "$n:${missing:- none}" "$n: none" \
	    "$cmd: the $n options of --help are in its section of logaudit(1)"
done

if command -v groff > /dev/null 2>&1; then
	for page in "$MAN1" "$MAN5"; do
		groff -t -man -Tutf8 -ww "$page" > /dev/null 2> groff.err
		is "$(wc -c < groff.err | tr -d ' ')" 0 \
		    "$(basename "$page") renders without a warning" ||
		    diag_file groff.err
	done
else
	skip "logaudit.1 renders without a warning" "no groff"
	skip "logaudit-patterns.5 renders without a warning" "no groff"
fi

done_testing
