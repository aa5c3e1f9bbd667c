// Checked before anything else loads: the AI SDK and Mastra need Node 22.
const [major] = process.versions.node.split(".").map(Number);
if ((major ?? 0) < 22) {
  process.stderr.write(`session-bridge: Node.js 22 or newer is required (this is ${process.version})\n`);
  process.exit(1);
}
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
