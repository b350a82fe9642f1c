export * from './array/workload.js'; // shim: removed at merge
