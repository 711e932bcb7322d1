#!/usr/bin/env node
// Runs the benchmarks (bench/run.ts, same arguments) with tsx registered in this thread only, as
// bin/clerk.mjs runs the TypeScript. `tsx bench/run.ts` loads tsx with --import, which Node passes
// on to every worker thread: the Temporal SDK's workflow threads then ran with tsx's source maps
// enabled, and every promise a workflow creates had its stack trace source-mapped (the SDK records
// one per promise, for the stack-trace query). A deployed worker's workflow threads run the
// prebuilt bundle without tsx or source maps, so under `tsx bench/run.ts` clerk's workers spent
// about a quarter more CPU per site of a fleet refresh than they do for users (docs/BENCHMARKS.md, (k)).
// The benchmark children (one per benchmark) are started through this file again.
import { register } from 'tsx/esm/api';

register();
await import('../bench/run.ts');
