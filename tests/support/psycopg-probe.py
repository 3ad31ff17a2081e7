"""What a libpq client (psycopg2) sees of one PostgreSQL service: printed as JSON on stdout.

Usage: psycopg-probe.py SERVICE   (PGSERVICEFILE names the service file)

libpq itself prints the notices of the session's start to stderr (psycopg2 takes over notices only
once connected), so the caller reads those there.
"""
import json
import re
import select
import sys
import time

import psycopg2

service = sys.argv[1]


def connect(**kwargs):
    conn = psycopg2.connect(f"service={service}", **kwargs)
    conn.autocommit = True
    return conn


def server_pid(conn):
    with conn.cursor() as cur:
        cur.execute("select pg_backend_pid()")
        return cur.fetchone()[0]


out = {}
listener = connect()
notifier = connect()
out["backend_pid_matches"] = listener.get_backend_pid() == server_pid(listener)

with listener.cursor() as cur:
    cur.execute('LISTEN "probe channel"')
with notifier.cursor() as cur:
    cur.execute("NOTIFY \"probe channel\", 'hello'")
deadline = time.time() + 10
while not listener.notifies and time.time() < deadline:
    select.select([listener], [], [], 0.5)
    listener.poll()
notify = listener.notifies[0] if listener.notifies else None
out["notify"] = notify and {
    "channel": notify.channel,
    "payload": notify.payload,
    "from_sender": notify.pid == server_pid(notifier),
    "to_own_session_pid": notify.pid == notifier.get_backend_pid(),
}
listener.close()
notifier.close()

try:
    connect(dbname="no_such_database").close()
    out["missing_database"] = "connected"
except psycopg2.OperationalError as err:
    # libpq says where it connected first ('connection to server at "localhost" (127.0.0.1), port N failed:'):
    # the port differs between the two ways in, what the server said does not.
    out["missing_database"] = re.sub(r"^connection to server at .*? failed: ", "", str(err))

print(json.dumps(out))
