/** cardlab's public API: `require('cardlab')` (or the project folder). */
export { tf, initBackend, useBackend, availableBackends, BACKENDS } from './tf';
export type { BackendName } from './tf';
