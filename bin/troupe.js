#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm run build` (run by `npm ci` through "prepare").
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    process.stderr.write('troupe: the CLI is not built yet; run "npm run build" (npm ci does it) and try again\n');
    process.exit(1);
  }
  throw err;
});
