export { startBroker } from './broker.bootstrap.js';
