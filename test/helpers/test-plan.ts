/**
 * How much the slowest tests do. `npm test` runs the default plan, sized to
 * prove each property on a two-core machine in a few minutes;
 * `npm run test:full` (TEST_PLAN=full, what CI runs) runs the full one.
 */
export const FULL_PLAN = process.env.TEST_PLAN === 'full'
