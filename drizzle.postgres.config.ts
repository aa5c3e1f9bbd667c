import { defineConfig } from "drizzle-kit";

// PostgreSQL's migrations (`npm run db:generate` writes both dialects); the server applies them itself.
export default defineConfig({
  dialect: "postgresql",
  schema: "./packages/server/src/storage/postgres/schema.ts",
  out: "./drizzle/postgres",
});
