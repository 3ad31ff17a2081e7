#!/bin/sh
# Starts the demo PostgreSQL: on first start, a cluster with the demo table and the admin user of
# automatic database users; every start, the certificate the init service signed (in /certs).
set -eu
for i in $(seq 1 120); do
  [ -s /certs/server.crt ] && break
  [ "$i" = 1 ] && echo "demo-postgres: waiting for /certs/server.crt (tctl auth sign --format=db, by the init service)"
  sleep 1
done
[ -s /certs/server.crt ] || { echo "demo-postgres: no certificate in /certs after 120 s" >&2; exit 1; }

# Runs as root only to take the certificate in; PostgreSQL itself runs as postgres.
as_postgres() { runuser -u postgres -- env PATH="$PATH" PGDATA="$PGDATA" "$@"; }
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 0700 "$PGDATA"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  as_postgres initdb --username=postgres --auth-local=peer --auth-host=reject --encoding=UTF8 >/dev/null
  as_postgres pg_ctl -w -o "-c listen_addresses=''" start >/dev/null
  as_postgres psql -v ON_ERROR_STOP=1 -q -U postgres <<'SQL'
CREATE TABLE greetings (id serial PRIMARY KEY, text text NOT NULL);
INSERT INTO greetings (text) VALUES ('hello from dbaccess');
-- Guide 004: the user automatic provisioning creates the sessions' users with.
CREATE USER "teleport-admin" LOGIN CREATEROLE;
GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA public TO "teleport-admin" WITH GRANT OPTION;
SQL
  as_postgres pg_ctl -w stop >/dev/null
  echo "demo-postgres: created the cluster, the greetings table and the teleport-admin user"
fi

# Guide 000, step 3: the server's certificate and key, the CA it trusts for clients, and only
# certificate authentication over TLS.
install -o postgres -g postgres -m 0644 /certs/server.crt "$PGDATA/server.crt"
install -o postgres -g postgres -m 0600 /certs/server.key "$PGDATA/server.key"
install -o postgres -g postgres -m 0644 /certs/server.cas "$PGDATA/server.cas"
cat >"$PGDATA/pg_hba.conf" <<'HBA'
local   all  postgres           peer
hostssl all  all      ::/0      cert
hostssl all  all      0.0.0.0/0 cert
HBA
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -c listen_addresses='*' -c ssl=on \
  -c ssl_cert_file="$PGDATA/server.crt" -c ssl_key_file="$PGDATA/server.key" -c ssl_ca_file="$PGDATA/server.cas"
