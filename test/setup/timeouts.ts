// Preloaded by bunfig.toml: integration tests spawn real servers and child processes, so give
// each test room on a busy machine (bun's default is 5 s) while never letting one hang CI.
// (bunfig's `[test] timeout` is not read by this bun; setDefaultTimeout is.)

import { setDefaultTimeout } from 'bun:test';

setDefaultTimeout(60_000);
