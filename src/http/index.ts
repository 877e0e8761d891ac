// Public surface of http: the application factory and what it needs.
export { type App, createApp } from './app.ts';
export { startingWaitOf } from './compat/index.ts';
export type { AppDeps, HttpOptions } from './context.ts';
export {
  type EarlyListener,
  listenEarly,
  type StoppableServer,
  startingAnswer,
  stopServer,
} from './listener.ts';
export { openTenancy } from './tenancy.ts';
