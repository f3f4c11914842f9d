// The example's build: Vite's own JSX transform (Oxc, React's automatic runtime) is all a React app
// needs, so there is no @vitejs/plugin-react (its current release wants Node 20.19+ and Babel
// or Oxc plugins besides). `wawp-session` and `wawp-session/react` resolve to this repository's
// pkg/ files, the same ones its package.json `exports` name for an app's node_modules copy.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  oxc: { jsx: { runtime: "automatic" } },
  resolve: {
    alias: [
      { find: /^wawp-session$/, replacement: fileURLToPath(new URL("../../pkg/src/entry-web.js", import.meta.url)) },
      { find: /^wawp-session\/react$/, replacement: fileURLToPath(new URL("../../pkg/src/react.js", import.meta.url)) },
    ],
  },
  build: { outDir: "dist", emptyOutDir: true },
});
