export * from './stats/report/from-store.js'; // shim: removed at merge
