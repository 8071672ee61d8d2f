/** The ES module entry of watershed/hub: the CommonJS build's named exports. */
export * from './index.js'
