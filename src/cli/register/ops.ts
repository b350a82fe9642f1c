/** Operating replication: health checks (monitoring plugins), metrics, events. */
import { type Command } from 'commander';
import { act, dataOpts, example } from './action.js';

const check = () => import('../commands/check.js');
const metrics = () => import('../commands/metrics.js');
const verify = () => import('../commands/verify.js');
const events = () => import('../commands/events.js');

export function registerOps(program: Command): void {
  example(
    dataOpts(
      program
        .command('check')
        .argument('[array]', 'an array (and the peers of its pairs); default: every array')
        .description('health of replication as a Nagios/Icinga plugin: one line per finding, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN'),
    )
      .option('--group <name>', 'only the pairs of this journal group')
      .option('--rpo-warn <d>', 'RPO at which to warn', '1m')
      .option('--rpo-crit <d>', 'RPO that is critical', '5m')
      .option('--journal-warn <pct>', 'master journal usage at which to warn', '80%')
      .option('--journal-crit <pct>', 'master journal usage that is critical', '95%')
      .option('--backup-verify-age <d>', 'warn of a good backup never verified or not verified within this time (a failed verify is always critical)')
      .action(act(check, 'check')),
    'rcopy check',
    'rcopy check siteA --rpo-warn 30s --rpo-crit 2m --journal-warn 70%',
  );
  example(
    dataOpts(program.command('metrics').argument('[array]', 'one array; default: every array').description('metrics of the arrays: on stdout, or written atomically for the textfile collector'))
      .option('--textfile <dir>', 'write DIR/rcopy.prom (a temporary file, then rename; Prometheus text format)')
      .option('--openmetrics', 'on stdout: OpenMetrics 1.0 instead of the Prometheus text format')
      .action(act(metrics, 'metrics')),
    'rcopy metrics --textfile /var/lib/prometheus/node-exporter',
  );
  example(
    program
      .command('events')
      .argument('[array]', 'one array; default: every array')
      .description('state changes, suspensions, PFUL, journal overflow, verify results, controller start/stop; oldest first')
      .option('--since <d>', 'only the events of the last d (e.g. 1h)')
      .option('--follow', 'keep printing new events as they come')
      .option('--json', 'one JSON object per line (JSON lines)')
      .action(act(events, 'events')),
    'rcopy events siteB --since 1h',
    'rcopy events --follow --json',
  );
  const pair = program.commands.find((c) => c.name() === 'pair');
  if (pair)
    example(
      dataOpts(
        pair
          .command('verify')
          .argument('[ref]', 'a volume of the pair (ARRAY:VOLUME); the whole journal group is verified')
          .description('compare P-VOL and S-VOL track by track while the pair stays in PAIR (exit 3 when tracks differ)'),
      )
        .option('--group <name>', 'the journal group')
        .option('--repair', 'resync only the differing tracks (the group is split and resynced)')
        .option('--timeout <d>', 'how long to wait for the repair', '1h')
        .action(act(verify, 'verify')),
      'rcopy pair verify siteB:db',
      'rcopy pair verify --group payroll --repair',
    );
  const array = program.commands.find((c) => c.name() === 'array');
  if (array)
    example(
      dataOpts(array.command('serve-metrics').argument('<name>', 'the array').description("serve /metrics from the array's controller (kept across restarts)"))
        .option('--listen <host:port>', 'address to listen on, e.g. 127.0.0.1:9477')
        .option('--stop', 'stop serving')
        .action(act(metrics, 'serveMetrics')),
      'rcopy array serve-metrics siteA --listen 127.0.0.1:9477',
      'rcopy array serve-metrics siteA --stop',
    );
}
