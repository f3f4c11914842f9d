import { createRoot } from "react-dom/client";
import { connectEdgeSession, init } from "wawp-session";
import { App } from "./App.jsx";
import { sessionConfig } from "./backend.js";

await init(); // the package's wasm, once
const { baseUrl, instanceId, token } = await sessionConfig();
let current = token;
const session = connectEdgeSession({
  baseUrl,
  instanceId,
  // The first token from the config; after a 401, a fresh one from the backend.
  token: async () => {
    const fresh = current ?? (await sessionConfig()).token;
    current = undefined;
    return fresh;
  },
});
createRoot(document.getElementById("root")).render(<App session={session} />);
