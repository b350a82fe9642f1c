export * from './array/home.js'; // shim: removed at merge
