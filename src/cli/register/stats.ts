/** rcopy stats: PB-bit update statistics (data group sets, collection, trace import, bandwidth reports). */
import { type Command } from 'commander';
import { act, dataOpts } from './action.js';
import { example } from './action.js';

const statsMod = () => import('../commands/stats.js');
const simulateMod = () => import('../commands/stats-simulate.js');
const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** `stats import` has its own --format (the trace format): hand it on as traceFormat. */
function actTrace(fn: string, mod: () => Promise<Record<string, unknown>> = statsMod) {
  const inner = act(mod, fn);
  return async (...all: unknown[]): Promise<void> => {
    const cmd = all[all.length - 1] as Command;
    cmd.setOptionValue('traceFormat', cmd.getOptionValue('format'));
    cmd.setOptionValue('format', undefined);
    return inner(...all);
  };
}

export function registerStats(program: Command): void {
  const stats = program.command('stats').description('PB-bit update statistics: how much link bandwidth replication needs');
  example(
    dataOpts(stats.command('define').argument('[ref]', 'ARRAY:GROUP (ARRAY with --config)').description('define a data group set: the volumes (and named track ranges) a collection watches'))
      .option('--volumes <list>', 'volumes of the array, comma separated')
      .option('--dataset <spec>', 'a named track range NAME=VOL:START-END (repeatable)', collect, [])
      .option('--interval <d>', 'collection interval', '1m')
      .option('--config <file>', 'define every group of a YAML config table (see samples/stats-config.yaml)')
      .action(act(statsMod, 'define')),
    'rcopy stats define siteA:oltp --volumes db,logs --dataset tables=db:0-128M --interval 1m',
    'rcopy stats define siteA --config samples/stats-config.yaml',
  );
  example(
    dataOpts(stats.command('list').argument('[array]').description('list the groups: volumes, data sets, interval, collection, entries stored, span')).action(act(statsMod, 'list')),
    'rcopy stats list siteA',
  );
  example(
    dataOpts(stats.command('start').argument('[ref]', 'ARRAY:GROUP').description('start collecting PB bits; an entry per volume is stored at the end of each interval'))
      .option('--interval <d>', "collection interval (default: the group's)")
      .action(act(statsMod, 'start')),
    'rcopy stats start siteA:oltp --interval 1m',
  );
  example(
    dataOpts(stats.command('stop').argument('[ref]', 'ARRAY:GROUP').description('store the interval in progress and stop collecting')).action(act(statsMod, 'stop')),
    'rcopy stats stop siteA:oltp',
  );
  example(
    dataOpts(stats.command('collect').argument('[ref]', 'ARRAY:GROUP').description('end the current interval now and store it (for cron)')).action(act(statsMod, 'collect')),
    'rcopy stats collect siteA:oltp',
    '*/5 * * * * rcopy stats collect siteA:oltp   # crontab',
  );
  example(
    stats
      .command('import')
      .argument('[ref]', 'ARRAY:GROUP')
      .description('build entries from a real block trace (plain or gzipped); each trace device becomes a member of the group')
      .option('--trace <file>', 'the trace file')
      .option('--format <format>', 'trace format: msr, blkparse, spc, fioiolog, alibaba, tencent, fiu, cloudphysics or systor')
      .option('--interval <d>', 'collection interval, counted from the first record', '1m')
      .option('--track-size <size>', "track size (default: the array's)")
      .option('--device-size <size>', 'size of every trace device: records past it are malformed (default: up to the highest track written)')
      .option('--strict', 'refuse the trace at its first malformed line')
      .option('--json', 'print the result as JSON')
      .action(actTrace('importTrace')),
    'rcopy stats import siteA:prod --trace wdev_1.csv --format msr --interval 1m --track-size 64k',
    'rcopy stats import siteA:prod --trace sda.blktrace.txt.gz --format blkparse',
  );
  example(
    dataOpts(stats.command('report').argument('[ref]', 'ARRAY:GROUP').description('bandwidth per window from distinct changed tracks, with sizing for resync time, paths and bandwidth'))
      .option('--window <d>', 'window length: a replication cycle, an RPO, a resync period')
      .option('--from <time>', 'first entry to use (ISO 8601 or epoch seconds)')
      .option('--to <time>', 'end of the entries to use')
      .option('--slide <d>', 'start a window every SLIDE (finds the peak over any placement)')
      .option('--by <what>', 'controller (all volumes), volume or dataset', 'controller')
      .option('--resync-time <d>', 'required resync time -> the bandwidth needed')
      .option('--bandwidth <rate>', 'available bandwidth -> the resync time')
      .option('--path-speed <rate>', 'speed of one path -> the number of paths')
      .option('--overhead <pct>', 'protocol overhead added to every figure, e.g. 10%')
      .option('--chart <file>', 'also write the chart: x.html (a page with the chart and the summary table) or x.svg')
      .option('--summary', 'only the summary: span, peak, 95th percentile, saving and the sizing asked for (no table, no chart)')
      .action(act(statsMod, 'report')),
    'rcopy stats report siteA:oltp --window 10m --resync-time 5m --path-speed 1Gb/s --overhead 10%',
    'rcopy stats report siteA:prod --window 1h --slide 10m --format csv > windows.csv',
    'rcopy stats report siteA:oltp --window 10m --chart bandwidth.svg',
    'rcopy stats report siteA:oltp --window 10m --resync-time 5m --summary',
  );
  registerSimulate(stats);
}

/** `stats simulate`: the journal simulation of a trace or a collection (commands/stats-simulate.ts). */
function registerSimulate(stats: Command): void {
  example(
    stats
      .command('simulate')
      .argument('[ref]', 'ARRAY:GROUP')
      .description("replay every write through rcopy's journal and a link: peak journal, PFUL/PFUS, lag percentiles, the outage it absorbs")
      .option('--trace <file>', 'the trace file (default: the group collection)')
      .option('--format <format>', 'trace format: msr, blkparse, spc, fioiolog, alibaba, tencent, fiu, cloudphysics or systor')
      .option('--device <id>', 'only the writes of this trace device')
      .option('--strict', 'refuse the trace at its first malformed line')
      .option('--bandwidth <rate>', 'link bandwidth, e.g. 100Mb/s or 12.5MB/s')
      .option('--journal <size>', 'journal size, e.g. 64G')
      .option('--rpo <d>', 'recovery point objective', '5m')
      .option('--latency <d>', 'one-way link latency', '0ms')
      .option('--outage <d@time>', 'the link is down for D from TIME, e.g. 2h@2007-02-23T10:00Z')
      .option('--track-size <size>', "track size of a resync (default: the array's)")
      .option('--from <time>', 'first write to use (ISO 8601 or epoch seconds)')
      .option('--to <time>', 'end of the writes to use')
      .option('--chart <file>', 'also write the chart: x.html (a page with the chart and the summary table) or x.svg')
      .option('--solve', 'also the least bandwidth for the RPO 100%/99%/90% of the time, and a bandwidth x journal table')
      .option('--verify', 'also replay the writes into a scratch pair of real arrays and compare: peak journal, lag p99, overflow')
      .option('--speedup <k>', 'with --verify: replay K times faster (the link carries K x the bandwidth)')
      .option('--pull-interval <d>', 'with --verify: the scratch pair pulls at this fixed interval (default 20ms)')
      .option('--volume-size <size>', 'with --verify: the scratch volume the offsets are folded into (default 1G)')
      .option('--json', 'print the result as JSON')
      .action(actTrace('simulate', simulateMod)),
    'rcopy stats simulate siteA:prod --trace wdev_1.csv --format msr --bandwidth 100Mb/s --journal 64G --rpo 5m',
    'rcopy stats simulate siteA:prod --bandwidth 10Mb/s --journal 1G --latency 20ms --outage 2h@2007-02-23T10:00Z --solve',
  );
}
