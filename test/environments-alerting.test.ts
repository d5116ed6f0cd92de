import { production, staging } from '../environments';
import { deepMerge } from '../environments/define';
import { EnvironmentConfig } from '../environments/types';
import { validateEnvironments } from '../environments/validate';
import { rejection } from './helpers/environments';

const withChanges = (env: EnvironmentConfig, changes: Record<string, unknown>): EnvironmentConfig =>
  deepMerge(env, changes);

describe('on-call address and routing', () => {
  test('both committed environments name their own on-call address and pass', () => {
    expect(() => validateEnvironments([staging, production])).not.toThrow();
    expect(staging.alarmEmail).not.toBe(production.alarmEmail);
  });

  test.each(['oncall@clever-better.example', 'ops@team.test', 'a@b.invalid', 'pager@example.com'])(
    'fails on %s, a reserved domain, unless the environment is a sandbox',
    (address) => {
      expect(rejection(withChanges(production, { alarmEmail: address }))).toContain(
        `production.alarmEmail = "${address}": `,
      );
      expect(rejection(withChanges(production, { alarmEmail: address }))).toMatch(
        /reserved domain.*Fix: set a real on-call address in environments\/production\.ts, or mark a throw-away environment with sandbox: true/,
      );
      expect(() =>
        validateEnvironments([withChanges(staging, { alarmEmail: address, sandbox: true }), production]),
      ).not.toThrow();
    },
  );

  test('fails on something that is not an e-mail address', () => {
    expect(rejection(withChanges(staging, { alarmEmail: 'on call' }))).toContain(
      'staging.alarmEmail = "on call": not an e-mail address',
    );
  });

  test('fails on an environment that pages without a pager, naming the fix', () => {
    const env = withChanges(staging, { alerting: { pages: true } });
    expect(rejection(env)).toMatch(
      /staging\.alerting\.pager = undefined: an environment that pages needs a pager.*Fix: set alerting\.pager/,
    );
  });

  test('fails on a pager in an environment that pages nobody', () => {
    const env = withChanges(staging, { alerting: { pager: { urlSecretName: 'x', urlSecretField: 'url' } } });
    expect(rejection(env)).toContain(
      'staging.alerting.pager = {"urlSecretName":"x","urlSecretField":"url"}: alerting.pages is false',
    );
  });

  test.each(['http://github.com/o/r', 'https://github.com/o/r/', 'docs/runbooks.md'])(
    'fails on runbook base %s (links must be absolute https, no trailing slash)',
    (url) => {
      expect(rejection(withChanges(staging, { alerting: { repositoryUrl: url } }))).toContain(
        `staging.alerting.repositoryUrl = "${url}": runbook links must be absolute https:// addresses`,
      );
    },
  );

  test('fails on a free-storage page threshold autoscaling would cross during normal growth', () => {
    const env = withChanges(production, { monitoring: { databaseFreeStorageGiB: 10 } });
    expect(rejection(env)).toContain(
      'production.monitoring.databaseFreeStorageGiB = 10: storage autoscaling only acts below 10% free (10 GiB of 100)',
    );
  });

  test('fails without a fallback mailbox, naming the field and the fix', () => {
    expect(rejection(withChanges(staging, { alerting: { fallbackEmail: '' } }))).toMatch(
      /staging\.alerting\.fallbackEmail = "": not an e-mail address; failed deliveries .*Fix: set alerting\.fallbackEmail \(a second mailbox, not alarmEmail\) in environments\/staging\.ts/,
    );
  });

  test('fails on a fallback mailbox that is the on-call inbox itself', () => {
    const env = withChanges(production, { alerting: { fallbackEmail: production.alarmEmail.toUpperCase() } });
    expect(rejection(env)).toContain(
      'the same address as alarmEmail: a failed delivery to that inbox would be reported to that inbox',
    );
  });

  test('fails on a fallback mailbox on a reserved domain unless the environment is a sandbox', () => {
    expect(rejection(withChanges(production, { alerting: { fallbackEmail: 'x@y.example' } }))).toContain(
      'production.alerting.fallbackEmail = "x@y.example": y.example is a reserved domain',
    );
  });
});
