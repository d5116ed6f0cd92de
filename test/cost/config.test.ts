import { production, staging } from '../../environments';
import { variant, rejection } from '../helpers/environments';

describe('cost configuration (environments/, cost)', () => {
  test('both committed environments carry a usage profile and a warning threshold, and pass', () => {
    for (const env of [staging, production]) {
      expect(env.cost.warnAboveUsdPerMonth).toBeGreaterThan(0);
      expect(Object.keys(env.cost.usage).length).toBeGreaterThan(10);
    }
  });

  test('fails on a negative usage figure, naming the field, the value and the fix', () => {
    expect(rejection(variant(production, { cost: { usage: { natProcessedGbPerMonth: -5 } } }))).toContain(
      'production.cost.usage.natProcessedGbPerMonth = -5: a usage assumption is a number of 0 or more. Fix: set a measured or estimated figure (0 when unused) in environments/production.ts',
    );
  });

  test('fails on a usage figure that is not a number', () => {
    expect(rejection(variant(staging, { cost: { usage: { botLogGbPerDay: '2' } } }))).toContain(
      'staging.cost.usage.botLogGbPerDay = "2": a usage assumption is a number of 0 or more',
    );
  });

  test.each([0, -10, Number.NaN])('fails on a warning threshold of %s', (threshold) => {
    expect(rejection(variant(staging, { cost: { warnAboveUsdPerMonth: threshold } }))).toContain(
      'staging.cost.warnAboveUsdPerMonth',
    );
  });

  test('fails on a misspelled usage key, suggesting the right one', () => {
    expect(rejection(variant(staging, { cost: { usage: { natProcesedGbPerMonth: 10 } } }))).toContain(
      'staging.cost.usage.natProcesedGbPerMonth = 10: unknown configuration key; did you mean "natProcessedGbPerMonth"?',
    );
  });
});
