import t from 'tap';
import { exitCodeFor, exitFailure, exitUsage } from '../../cli/run.js';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';

t.test('user mistakes exit 2, failures of the system exit 1', async (t) => {
  for (const code of [ErrorCode.INVALID_ARGUMENT, ErrorCode.NOT_FOUND, ErrorCode.ALREADY_EXISTS, ErrorCode.CONFLICT]) {
    t.equal(exitCodeFor(new TsswarmError(code, 'x')), exitUsage, code);
  }
  for (const code of [ErrorCode.EXTERNAL, ErrorCode.UNSUPPORTED, ErrorCode.TIMEOUT, ErrorCode.CORRUPT]) {
    t.equal(exitCodeFor(new TsswarmError(code, 'x')), exitFailure, code);
  }
  t.equal(exitCodeFor(new Error('bug')), exitFailure);
  t.equal(exitCodeFor(new TsswarmError(ErrorCode.COMMAND_NOT_FOUND, 'x')), 127, 'a missing command exits 127, as docker run');
  t.equal(exitCodeFor(new TsswarmError(ErrorCode.COMMAND_NOT_EXECUTABLE, 'x')), 126);
});
