import * as http from 'node:http';
import { AddressInfo } from 'node:net';

import { VirtualClock } from '../../lib/emulator/clock';
import { VirtualTimeDriver } from '../../lib/runner/virtual-time';

describe('VirtualTimeDriver', () => {
  let clock: VirtualClock;
  let driver: VirtualTimeDriver;

  beforeEach(() => {
    clock = new VirtualClock({ start: 0, timeScale: 0 });
    driver = new VirtualTimeDriver(clock);
  });
  afterEach(() => driver.close());

  test('concurrent sleeps overlap: two waits of 60 s and 90 s end at 60 s and 90 s, not 150 s', async () => {
    const ends: number[] = [];
    await Promise.all([
      clock.sleep(60_000).then(() => ends.push(clock.now())),
      clock.sleep(90_000).then(() => ends.push(clock.now())),
    ]);
    expect(ends).toEqual([60_000, 90_000]);
  });

  test('a chain of sleeps in each of two actors interleaves in virtual time order', async () => {
    const log: string[] = [];
    const actor = async (name: string, step: number, n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        await clock.sleep(step);
        log.push(`${name}@${clock.now()}`);
      }
    };
    await Promise.all([actor('a', 30, 3), actor('b', 40, 2)]);
    expect(log).toEqual(['a@30', 'b@40', 'a@60', 'b@80', 'a@90']);
  });

  test('time does not move while a service\'s work is held on the clock (an import computing its result)', async () => {
    let finish!: () => void;
    const work = clock.hold(new Promise<void>((resolve) => {
      finish = resolve;
    }));
    let woke = -1;
    const sleeping = clock.sleep(60_000).then(() => {
      woke = clock.now();
    });
    // Many idle turns of the event loop: without the hold, the driver would have jumped to 60 s by now.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(woke).toBe(-1);
    expect(clock.now()).toBe(0);
    finish();
    await work;
    await sleeping;
    expect(woke).toBe(60_000);
    expect(clock.workHeld).toBe(0);
  });

  test('time does not move while an HTTP request is in flight, unless a service holds it asleep', async () => {
    let release!: () => void;
    const server = http.createServer((req, res) => {
      if (req.url === '/slow') {
        // Real work in progress: answered only when the test says so.
        release = () => res.end('done');
      } else {
        // A virtual latency: the request sleeps on the clock.
        void clock.sleep(5_000, { holdsRequest: true }).then(() => res.end('late'));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const get = (path: string): Promise<string> => new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    try {
      const slow = get('/slow');
      const waited = clock.sleep(1_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(clock.now()).toBe(0);
      release();
      expect(await slow).toBe('done');
      await waited;
      expect(clock.now()).toBe(1_000);
      // A service latency: the driver moves time although the request is still open.
      expect(await get('/latency')).toBe('late');
      expect(clock.now()).toBe(6_000);
    } finally {
      server.close();
    }
  });

  test('daemon timers alone never move time', async () => {
    let fired = false;
    void clock.sleep(10_000, { daemon: true }).then(() => { fired = true; });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect([fired, clock.now()]).toEqual([false, 0]);
    await clock.sleep(20_000);
    expect([fired, clock.now()]).toEqual([true, 20_000]);
  });
});
