// The compiled code looks for its Lua transitions beside itself (dist/queue/lua), as the
// sources do under src/queue/lua, so the same loader works from both.
import { cpSync } from 'node:fs';
cpSync(new URL('../src/queue/lua', import.meta.url), new URL('../dist/queue/lua', import.meta.url), { recursive: true });
