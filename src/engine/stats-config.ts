export * from './stats/config.js'; // shim: removed at merge
