/** Arrays, volumes, host I/O, workloads and the tour. */
import { type Command } from 'commander';
import { act, dataOpts, example } from './action.js';
import { durationArg } from '../../units.js';

const arrayMod = () => import('../commands/array.js');
const volumeMod = () => import('../commands/volume.js');
const ioMod = () => import('../commands/io.js');
const demoMod = () => import('../commands/demo.js');

/** long: one declaration after another (array, volume, io, demo), each a few lines; nothing to factor out. */
export function registerCore(program: Command): void {
  const array = program.command('array').description('create, inspect, start and stop arrays');
  example(
    dataOpts(array.command('create').argument('[name]', 'array name').description('create an array under $RCOPY_HOME'))
      .option('--serial <n>', '5-digit serial number')
      .option('--track-size <size>', 'track size (4k..1M, power of two)', '64k')
      .option('--durability <mode>', 'fsync (every batch) or none', 'fsync')
      .option('--group-access', "share the array's files with your group (directories 0750, files 0640; default 0700/0600)")
      .action(act(arrayMod, 'create')),
    'rcopy array create siteA --serial 64015',
    'rcopy array create shared --group-access',
  );
  example(dataOpts(array.command('list').description('list the arrays')).action(act(arrayMod, 'list')), 'rcopy array list --json');
  example(dataOpts(array.command('show').argument('[name]').description('show an array')).action(act(arrayMod, 'show')), 'rcopy array show siteA');
  example(
    dataOpts(array.command('delete').argument('[name]').description('stop and delete an array with all its volumes (refused while a pair or an export uses it)'))
      .option('-y, --yes', 'do not ask for confirmation')
      .option('--force', 'first stop its exports and delete its pairs on both sides')
      .action(act(arrayMod, 'remove')),
    'rcopy array delete siteA --yes',
    'rcopy array delete siteB --force --yes',
  );
  example(dataOpts(array.command('start').argument('[name]').description("start the array's controller")).action(act(arrayMod, 'start')), 'rcopy array start siteA');
  example(
    dataOpts(array.command('stop').argument('[name]').description("stop the array's controller")).option('--all', 'stop the controllers of every array in this home').action(act(arrayMod, 'stop')),
    'rcopy array stop siteA',
    'rcopy array stop --all',
  );
  example(dataOpts(array.command('status').argument('[name]').description('is the controller running')).action(act(arrayMod, 'status')), 'rcopy array status siteA --json');
  example(
    dataOpts(array.command('check').argument('[name]').description('check the management store and the journals (exit 3 on a finding)')).action(
      act(() => import('../commands/array-check.js'), 'check'),
    ),
    'rcopy array check siteA',
  );

  const volume = program.command('volume').description('create and inspect volumes');
  example(
    dataOpts(volume.command('create').argument('[ref]', 'ARRAY:NAME').description('create a sparse volume'))
      .option('--size <size>', 'volume size, e.g. 10G')
      .option('--count <n>', 'create N volumes NAME-0 .. NAME-(N-1)')
      .action(act(volumeMod, 'create')),
    'rcopy volume create siteA:vol1 --size 10G',
    'rcopy volume create siteA:db --size 1G --count 4',
  );
  example(dataOpts(volume.command('list').argument('[array]').description("list an array's volumes")).action(act(volumeMod, 'list')), 'rcopy volume list siteA');
  example(dataOpts(volume.command('show').argument('[ref]', 'ARRAY:NAME').description('show a volume')).action(act(volumeMod, 'show')), 'rcopy volume show siteA:vol1 --json');
  example(
    dataOpts(volume.command('delete').argument('[ref]', 'ARRAY:NAME').description('delete a volume and its image (refused while a pair, an export or a collection uses it)'))
      .option('-y, --yes', 'do not ask for confirmation')
      .option('--force', 'first stop its export and collections and delete its pair on both sides')
      .action(act(volumeMod, 'remove')),
    'rcopy volume delete siteA:vol1 --yes',
  );

  const io = program.command('io').description('host I/O into volumes');
  example(
    dataOpts(io.command('write').argument('<ref>', 'ARRAY:VOLUME').description('write a file or a pattern into a volume'))
      .option('--offset <size>', 'byte offset', '0')
      .option('--file <path>', 'data to write')
      .option('--pattern <p>', 'zero, random, or a byte value (0-255 or 0xNN)')
      .option('--length <size>', 'length for --pattern')
      .option('--seed <n>', 'seed for --pattern random (repeatable data)')
      .action(act(ioMod, 'write')),
    'rcopy io write siteA:vol1 --offset 1M --pattern random --length 4M',
    'rcopy io write siteA:vol1 --file disk.raw',
  );
  example(
    dataOpts(io.command('read').argument('<ref>', 'ARRAY:VOLUME').description('read from a volume (hex dump, or --out FILE, --out - for raw)'))
      .option('--offset <size>', 'byte offset', '0')
      .requiredOption('--length <size>', 'bytes to read')
      .option('--out <path>', 'write the bytes to a file (- for stdout)')
      .action(act(ioMod, 'read')),
    'rcopy io read siteA:vol1 --offset 0 --length 512',
  );
  example(
    dataOpts(io.command('checksum').argument('<ref>', 'ARRAY:VOLUME').description('SHA-256 of a volume (holes read as zeros)'))
      .option('--range <start-end>', 'byte range, e.g. 0-1G')
      .action(act(ioMod, 'checksum')),
    'rcopy io checksum siteA:vol1',
  );

  const workload = program.command('workload').description('synthetic host workloads run inside the controller');
  example(
    dataOpts(workload.command('run').argument('<refs...>', 'ARRAY:VOLUME ...').description('run a workload and report IOPS, MB/s and latency'))
      .option('--pattern <p>', 'seq, random or zipf', 'random')
      .option('--bs <size>', 'block size', '64k')
      .option('--rate <rate>', 'target rate, e.g. 50MB/s (default: as fast as possible)')
      .option('--duration <d>', 'run for a time, e.g. 30s', durationArg('--duration'))
      .option('--bytes <size>', 'run until this much was written')
      .option('--write-ratio <r>', 'fraction of writes, 0..1', '1')
      .option('--depth <n>', 'requests in flight', '4')
      .option('--seed <n>', 'random seed', '1')
      .option('--stamp', 'stamp each block with its write number (for order checks)')
      .action(act(ioMod, 'workload')),
    'rcopy workload run siteA:vol1 --pattern zipf --bs 64k --rate 50MB/s --duration 30s',
  );

  example(
    dataOpts(program.command('demo').description('a tour of rcopy on a throw-away home')).option('--keep', 'keep the throw-away home and print its path').action(act(demoMod, 'demo')),
    'rcopy demo',
  );

  const help = program
    .command('help')
    .argument('[command...]')
    .description('help for a command, with an example')
    .action((words: string[], _o: unknown, cmd: Command) => {
      let c: Command = cmd.parent!;
      for (const w of words) {
        const next = c.commands.find((x) => x.name() === w || x.aliases().includes(w));
        if (!next) {
          process.stderr.write(`rcopy: error ERR_RCOPY_USAGE: no command '${words.join(' ')}'\n`);
          process.exitCode = 2;
          return;
        }
        c = next;
      }
      c.outputHelp();
    });
  example(help, 'rcopy help pair resync');
}
