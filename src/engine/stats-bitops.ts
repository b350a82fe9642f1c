export * from './stats/bitops.js'; // shim: removed at merge
