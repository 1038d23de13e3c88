import test from 'ava';
import { ApplianceError } from '../basics/errors.js';

test('errors carry a stable code', (t) => {
  const e = new ApplianceError('APPL_ERR_USAGE', 'x');
  t.is(e.code, 'APPL_ERR_USAGE');
});
