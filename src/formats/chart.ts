export * from '../cli/render/chart.js'; // shim: removed at merge
