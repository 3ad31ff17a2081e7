export * from './db-resource.js';
export * from './file-config.js';
export * from './load.js';
export * from './zod-error.js';
export * from './data-dir.js';
export * from './aws-region.js';
