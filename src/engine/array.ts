export * from './array/array.js'; // shim: removed at merge
