export * from './util/file-io.js'; // shim: removed at merge
