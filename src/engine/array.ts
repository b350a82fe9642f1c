export * from './array/array.js'; // shim: removed at merge
export * from './array/write-path.js'; // shim: removed at merge
export * from './array/checksum.js'; // shim: removed at merge
export * from './array/offline.js'; // shim: removed at merge
export * from './util/group-sync.js'; // shim: removed at merge
