export * from './util/parallel.js'; // shim: removed at merge
