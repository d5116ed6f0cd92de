import { ConfigProblem } from './problem';
import { EnvironmentConfig } from './types';

const EMAIL = /^[^\s@]+@([^\s@]+\.[^\s@]+)$/;

/**
 * Domains reserved for documentation and tests (RFC 2606, RFC 6761): mail to them reaches nobody,
 * so an on-call address there means an environment whose alarms page no one.
 */
const RESERVED_DOMAIN = /(^|\.)(example|test|invalid|localhost)$|^example\.(com|net|org)$/i;

/** Problems in the alarm routing of one environment: on-call address, pager, runbook links. */
export function alertingProblems(env: EnvironmentConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const file = `environments/${env.name}.ts`;
  const n = env.name;
  const domain = EMAIL.exec(env.alarmEmail ?? '')?.[1];
  if (!domain) {
    problems.push({
      field: `${n}.alarmEmail`,
      value: env.alarmEmail,
      problem: 'not an e-mail address; every environment names its own on-call address',
      fix: `set the on-call address in ${file}`,
    });
  } else if (RESERVED_DOMAIN.test(domain) && !env.sandbox) {
    problems.push({
      field: `${n}.alarmEmail`,
      value: env.alarmEmail,
      problem: `${domain} is a reserved domain: mail to it reaches nobody, so this environment's alarms would page no one`,
      fix: `set a real on-call address in ${file}, or mark a throw-away environment with sandbox: true`,
    });
  }
  const a = env.alerting;
  if (a.pages && !a.pager) {
    problems.push({
      field: `${n}.alerting.pager`,
      value: a.pager,
      problem:
        'an environment that pages needs a pager: e-mail alone is sent once at 03:00 and never escalates',
      fix: `set alerting.pager { urlSecretName, urlSecretField } in ${file}, or alerting.pages: false`,
    });
  }
  if (!a.pages && a.pager) {
    problems.push({
      field: `${n}.alerting.pager`,
      value: a.pager,
      problem: 'alerting.pages is false, so nothing would ever be sent to this pager',
      fix: `remove alerting.pager, or set alerting.pages: true in ${file}`,
    });
  }
  if (a.pager) {
    if (!/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(a.pager.urlSecretName)) {
      problems.push({
        field: `${n}.alerting.pager.urlSecretName`,
        value: a.pager.urlSecretName,
        problem: 'not a Secrets Manager secret name',
        fix: `use e.g. "clever-better/${n}/pager" in ${file}`,
      });
    }
    if (!/^[A-Za-z0-9_-]+$/.test(a.pager.urlSecretField)) {
      problems.push({
        field: `${n}.alerting.pager.urlSecretField`,
        value: a.pager.urlSecretField,
        problem: 'not a JSON field name',
        fix: `use e.g. "url" in ${file}`,
      });
    }
    const version = a.pager.urlSecretVersionId;
    if (version !== undefined && !/^[A-Za-z0-9-]{32,64}$/.test(version)) {
      problems.push({
        field: `${n}.alerting.pager.urlSecretVersionId`,
        value: version,
        problem: 'not a Secrets Manager version id (32–64 letters, digits and hyphens)',
        fix: `run npm run ops -- pager set-url --env ${n} --url <https://…>, which writes it`,
      });
    }
  }
  if (!/^https:\/\/[^\s/]+(\/[^\s]*[^\s/])?$/.test(a.repositoryUrl)) {
    problems.push({
      field: `${n}.alerting.repositoryUrl`,
      value: a.repositoryUrl,
      problem: 'runbook links must be absolute https:// addresses, without a trailing slash',
      fix: 'use e.g. "https://github.com/<owner>/<repo>" in environments/base.ts',
    });
  }
  if (!/^[A-Za-z0-9._/-]+$/.test(a.runbookRef)) {
    problems.push({
      field: `${n}.alerting.runbookRef`,
      value: a.runbookRef,
      problem: 'not a branch or tag name',
      fix: 'use e.g. "main" in environments/base.ts',
    });
  }
  return problems;
}
