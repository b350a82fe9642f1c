export * from './util/crc32.js'; // shim: removed at merge
