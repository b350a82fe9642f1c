/** Command groups registered by feature modules. Add a line for a new group. */
import type { Command } from 'commander';

export const REGISTERS: Array<(program: Command) => void> = [];
