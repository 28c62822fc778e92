#!/bin/sh
# Turn schema/NNN-*.sql into a C array of migrations, in file-name order, so
# the SQL lives in files sqlite3 can read and the binary carries it.
# usage: sql2c.sh FILE.sql... > schema.inc
set -e
echo "/* generated from the schema directory by build-aux/sql2c.sh: do not edit */"
echo "static const char *const store_migrations[] = {"
for f in $(printf '%s\n' "$@" | sort); do
	printf '\t/* %s */\n' "$(basename "$f")"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/\\n"/' "$f"
	printf '\t,\n'
done
echo "};"
