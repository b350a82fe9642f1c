export * from './runbook/exec.js'; // shim: removed at merge
