export * from './array/mgmt-store.js'; // shim: removed at merge
