#!/usr/bin/env node
// `modeldao` launcher: registers tsx's loader so the TypeScript sources run as they are, from any cwd.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Keep-alive sockets must not hold the process open once the work is done.
setTimeout(() => process.exit(code), 50).unref();
