// `node examples/react/dev.mjs`: the whole stack (simulator → edge worker in workerd) and this app
// in Vite's dev server, on 127.0.0.1. Prints the app's URL and the simulator's, whose control API
// plays the phone (POST /__sim/instances/{id}/scan).
import { createServer } from "vite";
import { startStack } from "../../www/stack.mjs";
import { exampleSession, operatorBackend } from "./operator.mjs";

const stack = await startStack({ env: {}, speed: 10 });
const server = await createServer({
  configFile: new URL("./vite.config.js", import.meta.url).pathname,
  server: { host: "127.0.0.1", port: Number(process.env.EXAMPLE_PORT ?? 5173) },
  plugins: [operatorBackend({ edgeUrl: stack.edgeUrl, session: exampleSession({ edgeUrl: stack.edgeUrl, adminToken: stack.adminToken }) })],
});
await server.listen();
console.log(`React example: ${server.resolvedUrls.local[0]}  (simulator: ${stack.simUrl})`);
const stop = async () => {
  await server.close();
  await stack.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
