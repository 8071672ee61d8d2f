/** The ES module entry: the CommonJS build's named exports, so that `import { connect } from 'watershed'` and `require('watershed')` give the very same objects. */
export * from './index.js'
