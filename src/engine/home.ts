export * from './array/home.js'; // shim: removed at merge
export * from './array/controller-process.js'; // shim: removed at merge
