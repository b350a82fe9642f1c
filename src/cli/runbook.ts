export * from './runbook/model.js'; // shim: removed at merge
export * from './runbook/parse.js'; // shim: removed at merge
export * from './runbook/words.js'; // shim: removed at merge
