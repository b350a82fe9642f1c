export * from './array/volume.js'; // shim: removed at merge
