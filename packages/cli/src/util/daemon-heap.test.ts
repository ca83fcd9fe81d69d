import { describe, expect, it } from 'vitest';
import { daemonExecArgv, SEMI_SPACE_MB } from './daemon-heap';

const node = '/usr/bin/node';
const bin = '/opt/tunnelmux/dist/bin.js';

describe('daemonExecArgv', () => {
  it('execs a daemon again with the young-generation cap, keeping node flags and arguments in order', () => {
    expect(
      daemonExecArgv(node, ['--enable-source-maps'], [node, bin, 'up', '--json', '-c', 'x.yaml']),
    ).toEqual([
      node,
      `--max-semi-space-size=${SEMI_SPACE_MB}`,
      '--enable-source-maps',
      bin,
      'up',
      '--json',
      '-c',
      'x.yaml',
    ]);
    expect(daemonExecArgv(node, [], [node, bin, 'relay', '127.0.0.1:22'])?.[1]).toMatch(
      /^--max-semi-space-size=/,
    );
    expect(daemonExecArgv(node, [], [node, bin, 'expose', '22'])?.[1]).toMatch(/^--max-semi-space-size=/);
  });

  it('leaves short commands, help and a cap already chosen alone', () => {
    expect(daemonExecArgv(node, [], [node, bin, 'status'])).toBeUndefined();
    expect(daemonExecArgv(node, [], [node, bin])).toBeUndefined();
    expect(daemonExecArgv(node, [], [node, bin, 'up', '--help'])).toBeUndefined();
    expect(daemonExecArgv(node, ['--max-semi-space-size=32'], [node, bin, 'up'])).toBeUndefined();
    expect(daemonExecArgv(node, [], [node, bin, 'up'], '--max-semi-space-size=4 --trace-gc')).toBeUndefined();
  });
});
