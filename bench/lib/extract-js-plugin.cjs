// The plain-JS extraction as a plugin, so the bench runs it on the same thread pool, with the
// same task hops, as the `wasm` processor. CommonJS with require(): under tsx, worker threads
// load TypeScript through require (an ESM import of a .ts file fails in a worker on Node 20).
const { extractJs } = require('./extract-js.ts');

module.exports = {
  name: 'html-js',
  run(input) {
    return typeof input === 'string' ? extractJs(input, 'html') : extractJs(input.html ?? input.text, input.text !== undefined ? 'text' : 'html');
  },
};
