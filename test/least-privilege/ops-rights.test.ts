import * as fs from 'node:fs';
import * as path from 'node:path';
import { environments } from '../../environments';
import { EnvironmentConfig } from '../../environments/types';
import { resolvePrincipals } from '../../environments/validate-access';
import { commands } from '../../lib/ops/commands';
import { runbookActions } from './simulation/actors';
import { commandCalls, ROOT } from './simulation/source-calls';
import '../../lib/ops';
import { OPS_COMMAND_ROLES, VIEWER_OMISSIONS } from '../../lib/operator-access';
import { ENVIRONMENT_NAMES, synthesized } from '../helpers/app';

/** A trusted principal belongs to the environment's account, or to one its config lists as cross-account on purpose. */
const principalAccountAllowed = (config: EnvironmentConfig, arn: string): boolean => {
  const account = /^arn:[^:]+:iam::(\d{12}):/.exec(arn)?.[1];
  return (
    account !== undefined &&
    (account === config.account || (config.access.crossAccountPrincipalAccounts ?? []).includes(account))
  );
};

/**
 * Rights a call needs besides its own action: the config secret is encrypted with the stack's
 * customer-managed key, and Secrets Manager uses it on the caller's behalf (Secrets Manager user
 * guide, "Secret encryption and decryption": GetSecretValue needs kms:Decrypt, PutSecretValue
 * kms:GenerateDataKey); SNS does the same for an encrypted topic (GenerateDataKey and Decrypt).
 */
const IMPLIED: Record<string, string[]> = {
  'secretsmanager:GetSecretValue': ['kms:Decrypt'],
  'secretsmanager:PutSecretValue': ['kms:GenerateDataKey'],
  'sns:Publish': ['kms:GenerateDataKey', 'kms:Decrypt'],
};

/** Command name → IAM actions it needs, found from the sources of lib/ops/ (simulation/source-calls.ts). */
function commandActions(): Map<string, Set<string>> {
  const result = new Map<string, Set<string>>();
  for (const [command, calls] of commandCalls()) {
    const actions = new Set(calls.actions);
    for (const action of [...actions]) (IMPLIED[action] ?? []).forEach((a) => actions.add(a));
    result.set(command, actions);
  }
  return result;
}

/** The operator's by-hand emergency stop (docs/runbooks.md) and what it implies. */
const byHand = new Set(runbookActions().flatMap((a) => [a, ...(IMPLIED[a] ?? [])]));

/** Actions a role's inline policies allow (Allow statements only; the roles have no Deny). */
function allowedActions(roleProps: {
  Policies?: { PolicyDocument: { Statement: { Effect: string; Action: string | string[] }[] } }[];
}): string[] {
  return (roleProps.Policies ?? []).flatMap((p) =>
    p.PolicyDocument.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => [s.Action].flat()),
  );
}

const matches = (pattern: string, action: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  ).test(action);

const needed = commandActions();

describe('the SDK calls of each ops command, read from lib/ops/', () => {
  test('finds every registered command and at least one call in each', () => {
    expect([...needed.keys()].sort()).toEqual([...commands.keys()].sort());
    for (const [command, actions] of needed) {
      expect({ command, some: actions.size > 0 }).toEqual({ command, some: true });
    }
  });

  test('finds the calls a known command makes (the reader works)', () => {
    expect([...needed.get('resume')!].sort()).toEqual(
      expect.arrayContaining([
        'cloudformation:DescribeStacks',
        'cloudwatch:DescribeAlarms',
        'ecs:UpdateService',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
      ]),
    );
    expect(needed.get('emergency-stop')).toContain('lambda:InvokeFunction');
  });

  test('every registered command says which role it needs', () => {
    const undecided = [...commands.keys()].filter((c) => !(c in OPS_COMMAND_ROLES));
    expect(undecided).toEqual([]);
  });

  test('docs/pipeline.md says which role each command needs', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'pipeline.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### Roles for people'));
    for (const [command, role] of Object.entries(OPS_COMMAND_ROLES)) {
      expect(section).toMatch(new RegExp(`\\| \`${command}\`[^|]*\\| ${role} `));
    }
  });
});

describe.each(ENVIRONMENT_NAMES)('%s: roles for people match what ops calls', (name) => {
  const { template } = synthesized(name);
  const roles = template.findResources('AWS::IAM::Role');
  const role = (roleName: string) => {
    const found = Object.values(roles).find((r) => r.Properties.RoleName === roleName);
    expect(found).toBeDefined();
    return found!.Properties;
  };
  const operator = allowedActions(role('clever-better-operator'));
  const viewer = allowedActions(role('clever-better-viewer'));
  const commandsFor = (r: 'viewer' | 'operator') =>
    Object.entries(OPS_COMMAND_ROLES)
      .filter(([, need]) => need === 'viewer' || (r === 'operator' && need === 'operator'))
      .map(([command]) => command);

  test.each(['operator', 'viewer'] as const)('the %s role allows every call of its commands', (r) => {
    const allowed = r === 'operator' ? operator : viewer;
    const missing: string[] = [];
    let checked = 0;
    for (const command of commandsFor(r)) {
      for (const action of needed.get(command) ?? []) {
        if (r === 'viewer' && action in VIEWER_OMISSIONS) continue;
        checked++;
        if (!allowed.some((p) => matches(p, action))) missing.push(`${command}: ${action}`);
      }
    }
    expect(checked).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });

  test.each(['operator', 'viewer'] as const)('the %s role allows nothing its commands do not call', (r) => {
    const allowed = r === 'operator' ? operator : viewer;
    const used = new Set(commandsFor(r).flatMap((c) => [...(needed.get(c) ?? [])]));
    if (r === 'operator') byHand.forEach((a) => used.add(a));
    const unused = allowed.filter((a) => a.includes('*') || !used.has(a));
    expect(unused).toEqual([]);
  });

  test('the viewer lacks exactly the documented omissions', () => {
    for (const action of Object.keys(VIEWER_OMISSIONS)) {
      expect(viewer.some((p) => matches(p, action))).toBe(false);
    }
  });

  test('both roles trust exactly the principals configured in environments/, resolved against the account', () => {
    // The config the stack was built from (no construct tree needed: 1 s of this file's time).
    const config = environments.find((e) => e.name === name)!;
    const principalsOf = (props: {
      AssumeRolePolicyDocument: { Statement: { Principal: { AWS: string | string[] } }[] };
    }) => props.AssumeRolePolicyDocument.Statement.flatMap((s) => [s.Principal.AWS].flat()).sort();
    for (const [roleName, list] of [
      ['clever-better-operator', config.access.operatorPrincipals],
      ['clever-better-viewer', config.access.viewerPrincipals],
    ] as const) {
      const expected = resolvePrincipals(config, list).map((p) => p.arn);
      expect(principalsOf(role(roleName))).toEqual(expected.sort());
      for (const arn of expected) expect(principalAccountAllowed(config, arn)).toBe(true);
    }
  });
});

describe('trusted principals: whose account may be trusted', () => {
  // Its own config, not a committed environment's (whose access may list other accounts on purpose).
  const committed = environments.find((e) => e.name === ENVIRONMENT_NAMES[0])!;
  const config: EnvironmentConfig = {
    ...committed,
    account: '111111111111',
    access: { operatorPrincipals: [], viewerPrincipals: [] },
  };
  const listed = { ...config, access: { ...config.access, crossAccountPrincipalAccounts: ['444444444444'] } };

  test('an account listed in access.crossAccountPrincipalAccounts is accepted; any other is not', () => {
    expect(principalAccountAllowed(config, `arn:aws:iam::${config.account}:role/ops`)).toBe(true);
    expect(principalAccountAllowed(listed, 'arn:aws:iam::444444444444:role/ops')).toBe(true);
    expect(principalAccountAllowed(config, 'arn:aws:iam::444444444444:role/ops')).toBe(false);
    expect(principalAccountAllowed(listed, 'arn:aws:iam::555555555555:root')).toBe(false);
  });
});

/**
 * The commands no simulation covers (commandsOf simulates only viewer and operator commands): each
 * `administrator` command with why it cannot run as one environment's operator or viewer role.
 * Labelling another command `administrator` fails below until it is listed here with its reason.
 */
const NOT_SIMULATED_ADMINISTRATOR_COMMANDS: Readonly<Record<string, string>> = {
  preflight:
    "runs before the stack's first deploy, so before the operator and viewer roles exist; reads account quotas, service-linked roles and every secret",
  pager: 'creates the pager secret before the first deploy (no operator role yet) and writes environments/',
  release:
    "reads staging's and production's registries (two accounts) and writes environments/: no single environment's role can",
  protect:
    'writes environments/ (stackCreated: true) so the next reviewed deploy turns protection on: a change to the repository, not an AWS call an environment role makes',
};

describe('administrator commands (not simulated against the templates)', () => {
  test('each administrator command is listed with a reason it runs outside the operator and viewer roles', () => {
    const administrator = Object.entries(OPS_COMMAND_ROLES)
      .filter(([, role]) => role === 'administrator')
      .map(([command]) => command);
    expect(administrator.sort()).toEqual(Object.keys(NOT_SIMULATED_ADMINISTRATOR_COMMANDS).sort());
    for (const reason of Object.values(NOT_SIMULATED_ADMINISTRATOR_COMMANDS))
      expect(reason.length).toBeGreaterThan(30);
  });
});
