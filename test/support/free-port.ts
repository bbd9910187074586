// A TCP port nobody listens on right now, for servers that must be told their port up front
// (PostgreSQL takes `port`, not 0). The kernel picks it; between closing our probe and the
// server binding it another process may take it, so callers that can retry on "address in use"
// should (startPostgres does).
import { createServer } from "node:net";

export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once("error", reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error(`no port from ${host}`))));
    });
  });
}
