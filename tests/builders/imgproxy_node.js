// One-shot signer for tests/it/builders.rs: the published @imgproxy/imgproxy-node
// (installed by scripts/url-builders.sh, found through NODE_PATH) signs each case.
// stdin: {"endpoint": "...", "key": HEX, "salt": HEX, "cases": [{"url": ..., "options": {...}}]}
//   where "url" is what generateImageUrl takes: a string (base64 form) or
//   {"value": ..., "displayAs": "plain" | "base64"}
// stdout: one URL per case, in order.
const { generateImageUrl } = require('@imgproxy/imgproxy-node');

let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const { endpoint, key, salt, cases } = JSON.parse(input);
  for (const c of cases) {
    console.log(generateImageUrl({ endpoint, url: c.url, options: c.options, key, salt }));
  }
});
