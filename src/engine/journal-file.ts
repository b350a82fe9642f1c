export * from './journal/journal-file.js'; // shim: removed at merge
