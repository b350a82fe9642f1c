export * from './backup/manager.js'; // shim: removed at merge
