/**
 * Debian's Chromium, driven by playwright-core (no browser is downloaded), for the dashboard's
 * browser tests and its screenshot script. Headless, with the flags that keep it off the
 * network: without them it tries Google's hosts at every start, which this machine refuses.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** A reason to skip browser tests, or false when Chromium is there. */
export const skipWithoutChromium: string | false = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (Debian: apt-get install chromium; .ci/run installs it)`;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
}
