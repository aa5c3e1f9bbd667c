import { defineConfig } from "drizzle-kit";

// Generates migrations only (`npm run db:generate`); the server applies them itself.
export default defineConfig({
  dialect: "sqlite",
  schema: "./packages/server/src/storage/libsql/schema.ts",
  out: "./drizzle/libsql",
});
