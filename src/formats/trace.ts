export * from '../engine/stats/traces/reader.js'; // shim: removed at merge
