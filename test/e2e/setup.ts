// Preloaded by bunfig.e2e.toml: browser tests start chromium and a server per file, so each
// test gets two minutes before it is failed (bun's default is 5 s).

import { setDefaultTimeout } from 'bun:test';

setDefaultTimeout(120_000);
