export * from './stats/traces/import.js'; // shim: removed at merge
