#!/usr/bin/env bash
# `npm run test:postgres`: the whole suite with its PostgreSQL runs, on a throwaway
# PostgreSQL 15 + pgvector cluster that is started for it and removed afterwards.
# Extra arguments go to `npm test` (e.g. a single file: -- test/chat.test.ts is not
# supported by npm test's glob; run node --test directly with TEST_POSTGRES_URL for that).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/pg-test-cluster.sh install
dir=$(mktemp -d /tmp/session-bridge-pg-test.XXXXXX)
trap 'bash scripts/pg-test-cluster.sh stop "$dir"' EXIT
TEST_POSTGRES_URL=$(bash scripts/pg-test-cluster.sh start "$dir")
export TEST_POSTGRES_URL
npm test
