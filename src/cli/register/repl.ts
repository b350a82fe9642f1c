/** Journals, links, pairs and pulls. */
import { type Command } from 'commander';
import { durationArg } from '../../units.js';
import { act, dataOpts, example } from './action.js';

const links = () => import('../commands/links.js');
const pair = () => import('../commands/pair.js');

/** long: one declaration after another (journal, link, pair, pull), each a few lines; nothing to factor out. */
export function registerRepl(program: Command): void {
  const journal = program.command('journal').description('journal volumes: master journals on primaries, restore journals on secondaries');
  example(
    dataOpts(journal.command('create').argument('[ref]', 'ARRAY:JOURNAL').description('create a journal volume'))
      .option('--size <size>', 'capacity, e.g. 1G')
      .option('--blockade-watch <d>', 'path-blockade watch time: link down this long suspends the group (PSUE)', durationArg('--blockade-watch'), '60s')
      .option('--overflow-watch <d>', 'data-overflow watch time: over 80% this long suspends the group (PFUS)', durationArg('--overflow-watch'), '60s')
      .option('--auto-resync', 'resynchronise by itself when the link comes back')
      .action(act(links, 'journalCreate')),
    'rcopy journal create siteA:j1 --size 1G',
    'rcopy journal create siteB:j2 --size 1G --blockade-watch 5s',
  );
  example(
    dataOpts(journal.command('set').argument('<ref>', 'ARRAY:JOURNAL').description("change a journal's options"))
      .option('--blockade-watch <d>', 'path-blockade watch time', durationArg('--blockade-watch'))
      .option('--overflow-watch <d>', 'data-overflow watch time', durationArg('--overflow-watch'))
      .option('--auto-resync <on|off>', 'resync by itself after a link failure')
      .option(
        '--references <on|off|auto>',
        'send references instead of data for blocks the secondary holds (set on the restore journal; auto, the default: where the link limits, a remote peer or a set bandwidth)',
      )
      .action(act(links, 'journalSet')),
    'rcopy journal set siteB:j2 --blockade-watch 1s',
  );
  example(dataOpts(journal.command('list').argument('[array]').description('list journals with capacity, usage, sequence numbers')).action(act(links, 'journalList')), 'rcopy journal list siteA');
  example(dataOpts(journal.command('show').argument('[ref]', 'ARRAY:JOURNAL').description('show a journal')).action(act(links, 'journalShow')), 'rcopy journal show siteA:j1 --json');
  example(
    dataOpts(journal.command('delete').argument('[ref]', 'ARRAY:JOURNAL').description('delete an unused journal (refused while a pair uses it)'))
      .option('-y, --yes', 'do not ask')
      .option('--force', "first delete its group's pairs on both sides")
      .action(act(links, 'journalDelete')),
    'rcopy journal delete siteA:j1 --yes',
  );

  const link = program.command('link').description('the paths between arrays (bandwidth, latency, up/down)');
  example(
    dataOpts(link.command('add').argument('[a]').argument('[b]').description('connect two arrays'))
      .option('--bandwidth <rate>', 'e.g. 100MB/s or 1Gb/s (default unlimited)')
      .option('--latency <d>', 'one-way latency per request, e.g. 5ms', durationArg('--latency'))
      .action(act(links, 'linkAdd')),
    'rcopy link add siteA siteB --bandwidth 100MB/s --latency 5ms',
  );
  example(
    dataOpts(link.command('set').argument('[a]').argument('[b]').description("change a link's bandwidth or latency"))
      .option('--bandwidth <rate>', "rate, or 'unlimited'")
      .option('--latency <d>', 'latency', durationArg('--latency'))
      .action(act(links, 'linkSet')),
    'rcopy link set siteA siteB --bandwidth 20MB/s',
  );
  example(dataOpts(link.command('list').description('list links')).action(act(links, 'linkList')), 'rcopy link list');
  example(dataOpts(link.command('show').argument('[a]').argument('[b]').description('show a link')).action(act(links, 'linkShow')), 'rcopy link show siteA siteB');
  example(
    dataOpts(link.command('down').argument('[a]').argument('[b]').description('take a link down (unplanned outage)')).action(
      (a: string | undefined, b: string | undefined, o: Record<string, unknown>, c: Command) => act(links, 'linkUpDown')(a, b, Object.assign(o, { __up: false }), c),
    ),
    'rcopy link down siteA siteB',
  );
  example(
    dataOpts(link.command('up').argument('[a]').argument('[b]').description('bring a link back up')).action((a: string | undefined, b: string | undefined, o: Record<string, unknown>, c: Command) =>
      act(links, 'linkUpDown')(a, b, Object.assign(o, { __up: true }), c),
    ),
    'rcopy link up siteA siteB',
  );

  const p = program.command('pair').description('remote copy pairs: create, watch, split, resync, take over');
  example(
    dataOpts(p.command('create').argument('[pvol]', 'P-VOL as ARRAY:VOLUME').argument('[svol]', 'S-VOL as ARRAY:VOLUME').description('pair two volumes and start the initial copy'))
      .option('--journal <p,s>', "the primary's and the secondary's journal: A:J1,B:J2")
      .option('--mode <mode>', 'async (journal) or sync', 'async')
      .option('--sync-timeout <d>', 'sync mode: how long a host write waits for the secondary before the fence applies', durationArg('--sync-timeout'), '5s')
      .option(
        '--fence <policy>',
        'sync mode, when the secondary does not answer in time: never (suspend, complete the write into the bitmap) or data (suspend, fail the write, refuse writes until resync)',
        'never',
      )
      .option('--group <name>', 'name of the journal group (consistency group)')
      .option('--nocopy', 'skip the initial copy (the volumes are known to be equal)')
      .option('--no-references', 'always send data, never references to blocks the secondary holds (default: auto, references where the link limits: a remote peer or a set bandwidth)')
      .option('--wait', 'wait until the initial copy is done (PAIR)')
      .option('--timeout <d>', 'with --wait (default 10m)', durationArg('--timeout'))
      .action(act(pair, 'create')),
    'rcopy pair create siteA:db siteB:db --journal siteA:j1,siteB:j2 --wait',
    'rcopy pair create siteA:db siteB:db --journal siteA:j1,siteB:j2 --mode sync --sync-timeout 3s --fence data',
  );
  example(dataOpts(p.command('list').argument('[array]').description('pairs with states, copy progress, journal usage, lag and bitmaps')).action(act(pair, 'list')), 'rcopy pair list');
  example(
    dataOpts(p.command('show').argument('[pair]', 'either volume, ARRAY:VOLUME').option('--group <name>').description('both sides of a pair')).action(act(pair, 'show')),
    'rcopy pair show siteB:db --json',
  );
  example(
    dataOpts(p.command('wait').argument('[pair]', 'either volume').description('wait until a pair or group reaches a state (exit 5 on timeout)'))
      .option('--group <name>', 'every pair of a group')
      .option('--state <state>', 'PAIR, COPY, PSUS, SSUS, PSUE, PFUS, PFUL, SSWS', 'PAIR')
      .option('--drained', "also wait until the secondary restored everything the primary journaled (after a resync: past the copy's end, its kept image dropped)")
      .option('--timeout <d>', 'give up after this long', durationArg('--timeout'), '5m')
      .action(act(pair, 'wait')),
    'rcopy pair wait siteB:db --state PAIR --drained --timeout 2m',
  );
  example(
    dataOpts(p.command('split').argument('[pair]', 'either volume').description('planned suspension of the journal group (PSUS/SSUS)'))
      .option('--group <name>', 'a group')
      .option('--rw', 'make the S-VOL writable')
      .option('-y, --yes', 'end a running drill of the group without asking')
      .action(act(pair, 'split')),
    'rcopy pair split siteB:db',
    'rcopy pair split --group payroll --rw',
  );
  example(
    dataOpts(p.command('resync').argument('[pair]', 'either volume').description('copy the changed tracks (both bitmaps) and return to PAIR'))
      .option('--group <name>', 'a group')
      .option('--swap', 'reverse the direction: the S-VOL side becomes the primary')
      .option('--references', "compare track hashes and send references for tracks the S-VOL holds (default: the group's setting)")
      .option('--no-references', 'send every changed track as data')
      .option('--no-wait', 'start it and return')
      .option('-y, --yes', 'end a running drill of the group without asking')
      .option('--timeout <d>', 'give up waiting after this long (default 1h)', durationArg('--timeout'))
      .action(act(pair, 'resync')),
    'rcopy pair resync siteB:db',
    'rcopy pair resync siteB:db --swap',
  );
  example(
    dataOpts(p.command('takeover').argument('[pair]', 'either volume').description('make the S-VOL the writable one (SSWS); with --swap also reverse the direction (like horctakeover)'))
      .option('--group <name>', 'a group')
      .option('--swap', 'then resync --swap: the secondary becomes the primary, and the old primary its copy')
      .option('-y, --yes', 'do not ask (a running drill of the group ends too)')
      .action(act(pair, 'takeover')),
    'rcopy pair takeover siteB:db --yes',
    'rcopy pair takeover siteB:db --swap --yes',
  );
  example(
    dataOpts(p.command('revert').argument('[pair]', 'either volume').description('put every S-VOL of the group back to its consistent image after an interrupted resync (stops a running copy first)'))
      .option('--group <name>', 'a group')
      .option('-y, --yes', 'do not ask')
      .action(act(pair, 'revert')),
    'rcopy pair revert siteB:db --yes',
  );
  example(
    dataOpts(p.command('delete').argument('[pair]', 'either volume').description('dissolve a pair (the volumes keep their data)'))
      .option('--group <name>', 'every pair of a group')
      .option('--force', 'delete this side even if the peer cannot be reached')
      .option('-y, --yes', 'do not ask (a running drill of the group ends too)')
      .action(act(pair, 'remove')),
    'rcopy pair delete siteB:db --yes',
  );

  const pull = program.command('pull').description("the secondary's journal pull (runs in its controller)");
  for (const verb of ['start', 'stop', 'status', 'once'] as const) {
    const c = dataOpts(pull.command(verb).argument('<journal>', 'the restore journal, ARRAY:JOURNAL'));
    if (verb === 'start') {
      c.option('--interval <d>', "fixed interval (default: adaptive, chosen from the primary's journal state)", durationArg('--interval'));
      c.option('--references', 'send references instead of data for blocks the secondary holds, on any link (default: auto, where the link limits)');
      c.option('--no-references', 'always send data (kept for the journal group)');
    }
    c.description({ start: 'start pulling (persistent: resumes after a restart)', stop: 'stop pulling', status: 'counters, rates, sequence numbers', once: 'one pull and restore now' }[verb]).action(
      (ref: string, o: Record<string, unknown>, cmd: Command) => act(links, 'pull')(ref, Object.assign(o, { __verb: verb }), cmd),
    );
    example(c, verb === 'start' ? 'rcopy pull start siteB:j2 --interval 2s' : `rcopy pull ${verb} siteB:j2`);
  }
}
