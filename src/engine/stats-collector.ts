export * from './stats/collector.js'; // shim: removed at merge
