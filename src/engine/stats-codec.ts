export * from './stats/codec.js'; // shim: removed at merge
