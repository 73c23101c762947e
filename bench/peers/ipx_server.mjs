// ipx's documented programmatic server (createIPX + ipxFSStorage + createIPXNodeServer),
// bound to loopback, as ../shared/bench/peers measured it. No result cache (ipx has none).
// Usage: NODE_PATH=<dir with node_modules> node ipx_server.mjs DIR PORT
import { createRequire } from "node:module";
import { createServer } from "node:http";
import { join } from "node:path";

const require = createRequire(join(process.env.IPX_HOME, "package.json"));
const { createIPX, ipxFSStorage, createIPXNodeServer } = require("ipx");
const [dir, port] = process.argv.slice(2);
const ipx = createIPX({ storage: ipxFSStorage({ dir }) });
createServer(createIPXNodeServer(ipx)).listen(Number(port), "127.0.0.1", () => {
  console.log(`ipx listening on 127.0.0.1:${port} dir=${dir}`);
});
