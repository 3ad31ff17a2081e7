export { startProxy, type ProxyOptions } from './proxy.bootstrap.js';
export { receivedConnection, type ToProxyWorker } from './workers.js';
