export * from './stats/store.js'; // shim: removed at merge
