export * from './util/fault.js'; // shim: removed at merge
