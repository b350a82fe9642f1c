// shim: removed at merge
export * from './stats/report/options.js';
export * from './stats/report/result.js';
export * from './stats/report/build.js';
export * from './stats/report/merge.js';
