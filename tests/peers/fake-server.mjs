// A stand-alone fake HTTP server on 127.0.0.1 (node:http, nothing from sim/): each route answers
// exactly the status, headers and body bytes it is given, and every request is recorded.

import { createServer } from "node:http";

/**
 * `routes`: "METHOD /path" → answer, or a function (request) → answer, where an answer is
 * `{status, headers?, body?: string | Buffer}`. Unknown routes get Express's plain 404 page.
 */
export async function startFake(routes) {
  const requests = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url, "http://127.0.0.1");
      const request = { method: req.method, path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      requests.push(request);
      const route = routes[`${req.method} ${url.pathname}`];
      const answer = typeof route === "function" ? route(request) : route;
      const { status, headers = {}, body = "" } = answer ?? notFound(req.method, url.pathname);
      const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8");
      res.sendDate = false;
      res.writeHead(status, { ...headers, "content-length": bytes.length });
      res.end(bytes);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}

/** Express's default 404 (what a Node router in front of an API answers for an unknown route). */
function notFound(method, path) {
  return {
    status: 404,
    headers: { "content-type": "text/html; charset=utf-8", "x-content-type-options": "nosniff" },
    body: `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot ${method} ${path}</pre>\n</body>\n</html>\n`,
  };
}

/** A JSON answer with the content type NestJS (WAHA) and most APIs send. */
export function json(status, text) {
  return { status, headers: { "content-type": "application/json; charset=utf-8" }, body: text };
}
