#!/bin/sh
# examples/ci-step.sh: a CI step after a Cloud Run deploy.  Did the new
# revision bring an error pattern that no earlier revision showed?
#
#   SERVICE=api sh examples/ci-step.sh
#
# It reads the last MINUTES minutes of the service's logs with gcloud,
# counts them with `logaudit ingest`, compares the first 30 minutes of the
# service's latest revision with the first 30 minutes of the revision
# before it, writes the Markdown report to report.md (to post on the pull
# request or keep as an artifact), and exits with the status of `logaudit
# diff`:
#
#   0  nothing flagged: the step passes
#   1  the new revision logged a pattern of level warning or above that no
#      earlier revision showed: the step fails; read report.md
#   2  an error (and gcloud's or ingest's failures end the step the same
#      way, with their own status)
#
# Settings, from the environment:
#
#   SERVICE   the Cloud Run service that was deployed (required)
#   PROJECT   its Google Cloud project (default: gcloud's current project)
#   REVISION  the revision the deploy made, to judge that one and fail when
#             the logs hold none of it yet; for example
#               gcloud run services describe "$SERVICE" --region=REGION \
#                   --format='value(status.latestReadyRevisionName)'
#             (default: the service's latest revision in the database)
#   MINUTES   how many minutes of logs to read (default 60)
#   DB        the database (default logaudit.db)
#
# Run it once the new revision has served for a while: its window is its
# first 30 minutes, or all it has lived so far.  The window of the revision
# before it is its first 30 minutes in the database: with a fresh DB,
# those are the 30 minutes that start MINUTES minutes ago, so make MINUTES
# reach back at least 30 minutes before the deploy.  "New" means that no
# earlier revision in the database showed the pattern, so a database that
# persists between deploys (the one examples/crontab fills, or a CI cache)
# knows more history and reports fewer false "new"s.
#
# Acknowledge a finding that is fine, and the next run reports it, marked,
# without failing:
#   logaudit ack --db "$DB" --service "$SERVICE" --revision R PATTERN-ID

set -eu

: "${SERVICE:?set SERVICE to the Cloud Run service that was deployed}"
MINUTES=${MINUTES:-60}
DB=${DB:-logaudit.db}

# The service's logs, kept in logs.json beside the report.  Written to a
# file first so that a failing gcloud (no credentials, a wrong project)
# fails the step instead of feeding ingest nothing.
gcloud logging read \
    "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"$SERVICE\"" \
    ${PROJECT:+--project="$PROJECT"} --freshness="${MINUTES}m" --format=json \
    > logs.json

# Count them.  Entries already in a persistent database count once.
logaudit ingest -q --db "$DB" logs.json

# Compare and report; keep diff's exit status for the end.
status=0
logaudit diff --db "$DB" --service "$SERVICE" ${REVISION:+--revision "$REVISION"} \
    --window 30m --format markdown > report.md || status=$?

# No report at all means nothing to compare (diff exits 2 for a service
# the database does not hold; this also guards an empty report).
if [ "$status" -eq 0 ] && [ ! -s report.md ]; then
    echo "ci-step: no revision of $SERVICE in the last $MINUTES minutes of logs" >&2
    exit 2
fi

cat report.md
exit "$status"
