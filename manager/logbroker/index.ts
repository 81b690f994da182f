export { LogBroker, maxLogSubscriptions, maxSelectorEntries, type LogBrokerOptions, type LogListener, type LogSink } from './log-broker.js';
