export * from './backup/id.js'; // shim: removed at merge
