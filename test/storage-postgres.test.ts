import { postgresUrl, testBackends } from "./_backends.ts";
import { describeMaintenanceLocks } from "./storage/maintenance-locks.suite.ts";
import { describeMemoryStore } from "./storage/memories.suite.ts";
import { describeMessageStore } from "./storage/messages.suite.ts";
import { describePendingMessages } from "./storage/pending-messages.suite.ts";
import { postgresBackend } from "./storage/postgres-backend.ts";
import { describeRepoCacheRows } from "./storage/repo-cache-rows.suite.ts";
import { describeSessionCascade } from "./storage/session-cascade.suite.ts";
import { describeTurnLease } from "./storage/session-lease.suite.ts";
import { describeSessionStore } from "./storage/sessions.suite.ts";
import { describeToolSessionStore } from "./storage/tool-sessions.suite.ts";
import { describeTraceStore } from "./storage/traces.suite.ts";
import { describeTurnLog } from "./storage/turn-log.suite.ts";
import { describeUsageStore } from "./storage/usage.suite.ts";
import { describeUserStore } from "./storage/users.suite.ts";
import { describeVectorStore } from "./storage/vectors.suite.ts";

// Every port's behaviour suite against PostgreSQL: the same suites libSQL passes (storage-libsql.test.ts).
// Without TEST_POSTGRES_URL (outside CI) there is no server to run on; test/postgres.test.ts says so.
if (testBackends().includes("postgres") && postgresUrl) {
  describeSessionStore(postgresBackend);
  describeTurnLease(postgresBackend);
  describeSessionCascade(postgresBackend);
  describeToolSessionStore(postgresBackend);
  describeTurnLog(postgresBackend);
  describeMemoryStore(postgresBackend);
  describeUserStore(postgresBackend);
  describeUsageStore(postgresBackend);
  describeTraceStore(postgresBackend);
  describeRepoCacheRows(postgresBackend);
  describeMessageStore(postgresBackend);
  describePendingMessages(postgresBackend);
  describeVectorStore(postgresBackend);
  describeMaintenanceLocks(postgresBackend);
}
