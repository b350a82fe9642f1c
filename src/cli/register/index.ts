/** Command groups registered by feature modules. Add a line for a new group. */
import type { Command } from 'commander';

export const REGISTERS: Array<(program: Command) => void> = [];
import { registerRun } from './run.js';
REGISTERS.push(registerRun);
import { registerCompletion } from './completion.js';
REGISTERS.push(registerCompletion);
import { registerBackup } from './backup.js';
REGISTERS.push(registerBackup);
import { registerRepl } from './repl.js';
REGISTERS.push(registerRepl);
import { registerStats } from './stats.js';
REGISTERS.push(registerStats);
import { registerExport } from './export.js';
REGISTERS.push(registerExport);
import { registerRemote } from './remote.js';
REGISTERS.push(registerRemote);
import { registerOps } from './ops.js';
REGISTERS.push(registerOps);
import { registerJobs } from './jobs.js';
REGISTERS.push(registerJobs);
import { registerDrill } from './drill.js';
REGISTERS.push(registerDrill);
