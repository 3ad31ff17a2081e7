export * from './instruments.js';
export * from './sampler.js';
export * from './telemetry.js';
export * from './tracing.js';
export * from './readiness.js';
