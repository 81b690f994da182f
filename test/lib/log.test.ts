import { Writable } from 'node:stream';
import t from 'tap';
import { pino, symbols } from 'pino';
import { TsswarmError, ErrorCode } from '../../lib/errors.js';
import { createLogger, silentLogger, type Logger } from '../../lib/log.js';

/** A destination that keeps every chunk written to it. */
function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>>; raw: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const raw = (): string => chunks.join('');
  const lines = (): Array<Record<string, unknown>> =>
    raw()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stream, lines, raw };
}

/** Points an existing pino logger at `stream`, to see whether it writes anything at all. */
function redirect(logger: Logger, stream: Writable): void {
  (logger as unknown as Record<symbol, unknown>)[symbols.streamSym] = stream;
}

const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** Runs `fn` with TSSWARM_LOG_LEVEL set (or unset), restoring it afterwards. */
function withEnvLevel<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env['TSSWARM_LOG_LEVEL'];
  if (value === undefined) delete process.env['TSSWARM_LOG_LEVEL'];
  else process.env['TSSWARM_LOG_LEVEL'] = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env['TSSWARM_LOG_LEVEL'];
    else process.env['TSSWARM_LOG_LEVEL'] = saved;
  }
}

t.test('createLogger writes one JSON line per record with name, level, pid, time and msg', async (t) => {
  const out = capture();
  const log = createLogger('manager', { level: 'info', destination: out.stream });
  log.info('elected leader');
  log.warn({ term: 3 }, 'lost quorum');
  t.match(out.raw(), /^\{.*\}\n\{.*\}\n$/, 'exactly two newline-terminated lines');
  const [first, second] = out.lines();
  t.match(first, { name: 'manager', level: 30, msg: 'elected leader', pid: process.pid });
  t.type(first?.['time'], 'number');
  t.match(second, { name: 'manager', level: 40, msg: 'lost quorum', term: 3 });
});

t.test('each level is written with its pino number', async (t) => {
  const out = capture();
  const log = createLogger('x', { level: 'trace', destination: out.stream });
  for (const level of levels) log[level](level);
  t.same(
    out.lines().map((l) => [l['msg'], l['level']]),
    [
      ['fatal', 60],
      ['error', 50],
      ['warn', 40],
      ['info', 30],
      ['debug', 20],
      ['trace', 10],
    ],
  );
});

t.test('records below the level are dropped', async (t) => {
  const out = capture();
  const log = createLogger('x', { level: 'warn', destination: out.stream });
  log.info('dropped');
  log.debug('dropped');
  log.warn('kept');
  log.error('kept too');
  t.same(
    out.lines().map((l) => l['msg']),
    ['kept', 'kept too'],
  );
});

t.test("level 'silent' writes nothing", async (t) => {
  const out = capture();
  const log = createLogger('x', { level: 'silent', destination: out.stream });
  for (const level of levels) log[level]('nope');
  t.equal(out.raw(), '');
});

t.test('child loggers add their bindings to every line', async (t) => {
  const out = capture();
  const log = createLogger('tsswarmd', { level: 'info', destination: out.stream });
  log.child({ component: 'scheduler' }).info({ task: 't1' }, 'placed');
  t.match(out.lines(), [{ name: 'tsswarmd', component: 'scheduler', task: 't1', msg: 'placed' }]);
});

t.test('errors are logged with type, message, stack and code', async (t) => {
  const out = capture();
  const log = createLogger('x', { level: 'info', destination: out.stream });
  const cause = new Error('connection refused');
  log.error({ err: new TsswarmError(ErrorCode.EXTERNAL, 'cannot reach peer', { cause }) }, 'join failed');
  const [line] = out.lines();
  t.match(line, {
    level: 50,
    msg: 'join failed',
    err: { type: 'TsswarmError', message: /cannot reach peer/, code: 'EEXTERNAL', stack: /TsswarmError: cannot reach peer/ },
  });
});

t.test('the level defaults to info', async (t) => {
  const out = capture();
  const log = withEnvLevel(undefined, () => createLogger('x', { destination: out.stream }));
  t.equal(log.level, 'info');
  log.debug('dropped');
  log.info('kept');
  t.same(
    out.lines().map((l) => l['msg']),
    ['kept'],
  );
});

t.test('TSSWARM_LOG_LEVEL sets the default level', async (t) => {
  const out = capture();
  const log = withEnvLevel('debug', () => createLogger('x', { destination: out.stream }));
  log.debug('now visible');
  t.match(out.lines(), [{ level: 20, msg: 'now visible' }]);
  t.equal(withEnvLevel('error', () => createLogger('x', { destination: capture().stream })).level, 'error');
  t.equal(withEnvLevel('', () => createLogger('x', { destination: capture().stream })).level, 'info', 'empty means unset');
});

t.test('an explicit level wins over TSSWARM_LOG_LEVEL', async (t) => {
  const log = withEnvLevel('trace', () => createLogger('x', { level: 'warn', destination: capture().stream }));
  t.equal(log.level, 'warn');
});

t.test('an unknown TSSWARM_LOG_LEVEL is an EINVAL error naming the variable', async (t) => {
  t.throws(() => withEnvLevel('verbose', () => createLogger('x', { destination: capture().stream })), {
    name: 'TsswarmError',
    code: ErrorCode.INVALID_ARGUMENT,
    message: /TSSWARM_LOG_LEVEL=verbose/,
  });
});

t.test('silentLogger writes nothing at any level, nor do its children', async (t) => {
  const log = silentLogger();
  const out = capture();
  redirect(log, out.stream);
  const child = log.child({ component: 'test' });
  for (const level of levels) {
    t.notOk(log.isLevelEnabled(level), `${level} disabled`);
    log[level]('nope');
    child[level]({ x: 1 }, 'nope');
  }
  t.equal(out.raw(), '');
});

t.test('the redirect used above does catch writes (so the silent test can fail)', async (t) => {
  const log = pino({ level: 'info' });
  const out = capture();
  redirect(log, out.stream);
  log.info('seen');
  t.match(out.lines(), [{ msg: 'seen' }]);
});
