export * from './render/output.js'; // shim: removed at merge
