#!/usr/bin/env bash
# Make sure the PostgreSQL the store tests use is up (127.0.0.1:5432, trust auth).
# Override with SLM_TEST_PG_URL; set SLM_SKIP_PG=1 to skip (the PostgreSQL tests then skip,
# except under CI=true, where they fail).
set -u
[ "${SLM_SKIP_PG:-0}" = "1" ] && exit 0
if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
  exit 0
fi
echo "PostgreSQL is not answering on 127.0.0.1:5432; starting it" >&2
if command -v pg_ctlcluster >/dev/null 2>&1; then
  version=$(ls /etc/postgresql 2>/dev/null | head -n 1)
  if [ -n "$version" ]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
  sleep 1
done
echo "PostgreSQL could not be started; the PostgreSQL store tests will fail under CI=true" >&2
exit 0
