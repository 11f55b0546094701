// The compiled code looks for its Lua scripts beside itself (dist/queue/lua, dist/scheduler/lua,
// dist/processors/lua), as the sources do under src/, so the same loader works from both.
// Every .lua file under src is copied, so a new script directory needs no change here.
import { cpSync, statSync } from 'node:fs';
cpSync(new URL('../src', import.meta.url), new URL('../dist', import.meta.url), {
  recursive: true,
  filter: (path) => path.endsWith('.lua') || statSync(path).isDirectory(),
});
