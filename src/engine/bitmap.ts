export * from './repl/track-bitmap.js'; // shim: removed at merge
