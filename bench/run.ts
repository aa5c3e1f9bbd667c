// npm run bench -- <name> [options]: runs one benchmark, prints its table,
// writes JSON under bench/results/ and updates its section of bench/README.md.
const benchmarks: Record<string, () => Promise<{ main(args: string[]): Promise<void> }>> = {
  store: () => import("./store.ts"),
  memory: () => import("./memory.ts"),
  turn: () => import("./turn.ts"),
  durability: () => import("./durability.ts"),
  http: () => import("./http.ts"),
  postgres: () => import("./postgres.ts"),
};

const [name, ...args] = process.argv.slice(2);
const load = name ? benchmarks[name] : undefined;
if (!load) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benchmarks).join("|")}> [options]\n`);
  process.exit(2);
}
await (await load()).main(args);
