/**
 * Where each command lives, by the name it is run with. main.ts imports only the module of the
 * command being run: a `troupe supervise` process never loads the dashboard, the tune sweep or
 * the admin commands, which would otherwise stay in its memory for as long as it runs. Help, an
 * unknown name and a typo load them all, so yargs can list or suggest every command.
 */
import type { CommandModule } from 'yargs';

/** Each command has its own argument type; yargs checks them at run time, so the list is widened here. */
export type Commands = Array<CommandModule<object, never>>;

export interface CommandSource {
  /** The first word of each command the module defines (a test checks them against the modules). */
  names: readonly string[];
  load(): Promise<Commands>;
}

const one = (command: unknown): Commands => [command] as Commands;

/** In the order `troupe --help` lists them. */
export const COMMAND_SOURCES: readonly CommandSource[] = [
  { names: ['supervise'], load: async () => one((await import('./supervise.js')).superviseCommand) },
  { names: ['demo'], load: async () => one((await import('./demo.js')).demoCommand) },
  { names: ['enqueue', 'job', 'jobs', 'stats', 'dlq', 'status', 'queue'], load: async () => (await import('./admin.js')).ADMIN_COMMANDS },
  { names: ['schedule'], load: async () => one((await import('./schedule.js')).scheduleCommand) },
  { names: ['dashboard'], load: async () => one((await import('./dashboard.js')).dashboardCommand) },
  { names: ['bench'], load: async () => one((await import('./bench.js')).benchCommand) },
  { names: ['tune'], load: async () => one((await import('./tune.js')).tuneCommand) },
];

/** The commands to register for these arguments: the named command's module, or all of them. */
export async function commandsFor(args: readonly string[]): Promise<Commands> {
  const first = args[0];
  const source = first === undefined ? undefined : COMMAND_SOURCES.find((s) => s.names.includes(first));
  if (source) return source.load();
  const all = await Promise.all(COMMAND_SOURCES.map((s) => s.load()));
  return all.flat();
}
