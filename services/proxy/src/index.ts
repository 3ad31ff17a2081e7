export { startProxy, type ProxyOptions } from './proxy.bootstrap.js';
export { receivedConnection, type ToProxyWorker } from './workers.js';
export { liveSession } from './audit/live-session.js';
