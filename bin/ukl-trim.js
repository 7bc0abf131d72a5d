#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// `conf` is a one-second process: V8's optimizing compiler, running on other threads, cost it
// ~0.6 s of CPU for no gain in time (measured on Debian's x86_64 config), CPU the background
// Kconfig probes of a cold run need. Longer commands keep it.
if (process.argv[2] === 'conf') setFlagsFromString('--no-opt');

const { main, processIO } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2), processIO());
