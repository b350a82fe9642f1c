export * from './util/wasm-asm.js'; // shim: removed at merge
