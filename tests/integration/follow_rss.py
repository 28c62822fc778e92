"""follow_rss.py -- what tests/integration/t_follow_memory.sh and
bench/follow-soak.sh sample of a running `logaudit follow`: its resident
set size and the entries its database holds.  A module: both put this
folder on PYTHONPATH (with PYTHONDONTWRITEBYTECODE, so that the source
tree gets no __pycache__) and import it.

  rss(PID)                VmRSS of PID in KiB (/proc/PID/status), 0 when
                          it has none
  counted(DB, TIMEOUT=5)  the entries the revisions of DB hold, -1 when
                          DB cannot be read (busy for TIMEOUT seconds)
"""
import sqlite3


def rss(pid):
    with open("/proc/%d/status" % pid) as s:
        for line in s:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def counted(db, timeout=5):
    try:
        c = sqlite3.connect(db, timeout=timeout)
        v = c.execute("SELECT coalesce(sum(entries), 0) FROM revisions"
                      ).fetchone()[0]
        c.close()
        return v
    except sqlite3.Error:
        return -1
