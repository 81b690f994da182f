import t from 'tap';
import { chooseAdvertiseAddr, hostOf, normalizeAddr, portOf } from '../../daemon/addresses.js';
import { ErrorCode, isTsswarmError } from '../../lib/errors.js';

t.test('addresses get the manager port when they have none', async (t) => {
  t.equal(normalizeAddr('198.18.0.1', 'x'), '198.18.0.1:2377');
  t.equal(normalizeAddr(' 198.18.0.1:4000 ', 'x'), '198.18.0.1:4000');
  t.equal(normalizeAddr('[fd00::1]:2377', 'x'), '[fd00::1]:2377');
  t.equal(normalizeAddr('[fd00::1]', 'x'), '[fd00::1]:2377');
  t.equal(normalizeAddr('manager-1.example', 'x'), 'manager-1.example:2377');
  t.equal(hostOf('[fd00::1]:2377'), 'fd00::1');
  t.equal(hostOf('198.18.0.1:2377'), '198.18.0.1');
  t.equal(portOf('198.18.0.1:4000'), 4000);
});

t.test('bad addresses are refused with the flag named', async (t) => {
  for (const bad of ['', ':2377', '1.2.3.4:0', '1.2.3.4:70000', '1.2.3.4:x', 'a b', 'fd00::1', 'host/path']) {
    let err: unknown;
    try {
      normalizeAddr(bad, '--listen-addr');
    } catch (e) {
      err = e;
    }
    t.ok(isTsswarmError(err, ErrorCode.INVALID_ARGUMENT), `${JSON.stringify(bad)} refused`);
    t.match((err as Error).message, /--listen-addr/);
  }
});

t.test('the advertise address: given, else the listen host, with the listen port', async (t) => {
  t.equal(chooseAdvertiseAddr('198.18.0.7', '0.0.0.0:2377'), '198.18.0.7:2377');
  t.equal(chooseAdvertiseAddr('198.18.0.7', '0.0.0.0:4000'), '198.18.0.7:4000', 'the listen port when the advertise address has none');
  t.equal(chooseAdvertiseAddr('198.18.0.7:5000', '0.0.0.0:4000'), '198.18.0.7:5000');
  t.equal(chooseAdvertiseAddr('', '198.18.0.9:2377'), '198.18.0.9:2377');
});
