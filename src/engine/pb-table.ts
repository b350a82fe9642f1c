export * from './stats/pb-table.js'; // shim: removed at merge
