// One POST with Node's built-in fetch (undici, HTTP/1.1), run as its own process by clients.py:
//
//     node node_client.mjs URL BODY_FILE HEADERS_JSON
//
// Node embeds its own OpenSSL (uprobes must target the node binary); the test CA comes from
// NODE_EXTRA_CA_CERTS. Node 20's fetch ignores HTTPS_PROXY. Prints one JSON line: pid,
// status, headers, body (decoded text), events (body chunks read).
import { readFileSync } from "node:fs";

const [url, bodyFile, headersJson] = process.argv.slice(2);
const res = await fetch(url, {
  method: "POST",
  headers: JSON.parse(headersJson || "{}"),
  body: readFileSync(bodyFile),
});
const decoder = new TextDecoder();
let body = "";
let events = 0;
for await (const chunk of res.body) {
  events += 1;
  body += decoder.decode(chunk, { stream: true });
}
body += decoder.decode();
process.stdout.write(JSON.stringify({
  pid: process.pid,
  kind: "node-fetch",
  status: res.status,
  http_version: "1.1",
  headers: Object.fromEntries(res.headers),
  body,
  events,
}) + "\n");
