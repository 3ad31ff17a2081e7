export { startProxy, type ProxyOptions } from './proxy.bootstrap.js';
