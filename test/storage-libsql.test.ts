import { libsqlBackend } from "./storage/libsql-backend.ts";
import { describeMemoryStore } from "./storage/memories.suite.ts";
import { describeMessageStore } from "./storage/messages.suite.ts";
import { describePendingMessages } from "./storage/pending-messages.suite.ts";
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

// Every port's behaviour suite against embedded libSQL; a PostgreSQL run passes the same suites.
describeSessionStore(libsqlBackend);
describeTurnLease(libsqlBackend);
describeSessionCascade(libsqlBackend);
describeToolSessionStore(libsqlBackend);
describeTurnLog(libsqlBackend);
describeMemoryStore(libsqlBackend);
describeUserStore(libsqlBackend);
describeUsageStore(libsqlBackend);
describeTraceStore(libsqlBackend);
describeRepoCacheRows(libsqlBackend);
describeMessageStore(libsqlBackend);
describePendingMessages(libsqlBackend);
describeVectorStore(libsqlBackend);
