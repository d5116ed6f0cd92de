import { ENVIRONMENT_NAMES, synthesized } from '../helpers/app';

// Template JSON is walked generically; its shapes vary by resource type.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type Resource = { Type: string; Properties?: Record<string, Json> };

/** Logical ids a JSON value references through Ref / Fn::GetAtt. */
function references(value: Json, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => references(v, out));
  else if (value && typeof value === 'object') {
    if (typeof value.Ref === 'string') out.add(value.Ref);
    if (Array.isArray(value['Fn::GetAtt'])) out.add(value['Fn::GetAtt'][0]);
    Object.values(value).forEach((v) => references(v, out));
  }
  return out;
}

// RDS takes its master credentials from the secret its MasterUserPassword resolves
// (CloudFormation dynamic references, "{{resolve:secretsmanager:…}}"); RDS's own rotation/attachment
// (AWS::SecretsManager::SecretTargetAttachment) is the same secret. Whatever reaches either is master.
describe.each(ENVIRONMENT_NAMES)('%s: no service can reach the RDS master secret', (name) => {
  const { template } = synthesized(name);
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  const masterSecrets = new Set<string>();
  for (const [, instance] of ofType('AWS::RDS::DBInstance')) {
    references(instance.Properties?.MasterUserPassword).forEach((id) => masterSecrets.add(id));
  }
  for (const [id, attachment] of ofType('AWS::SecretsManager::SecretTargetAttachment')) {
    if (
      references(attachment.Properties?.SecretId).size > 0 &&
      [...references(attachment.Properties?.SecretId)].some((s) => masterSecrets.has(s))
    ) {
      masterSecrets.add(id);
    }
  }

  test('the master secret is found', () => {
    expect([...masterSecrets].some((id) => resources[id]?.Type === 'AWS::SecretsManager::Secret')).toBe(true);
  });

  test('no task definition, task role or execution role references the master secret', () => {
    const taskDefinitions = ofType('AWS::ECS::TaskDefinition');
    expect(taskDefinitions.length).toBeGreaterThan(0);
    for (const [id, taskDefinition] of taskDefinitions) {
      const roles = references([
        taskDefinition.Properties?.TaskRoleArn,
        taskDefinition.Properties?.ExecutionRoleArn,
      ]);
      const policies = ofType('AWS::IAM::Policy').filter(([, p]) =>
        [...references(p.Properties?.Roles)].some((r) => roles.has(r)),
      );
      const reached = [
        ...references(taskDefinition.Properties),
        ...policies.flatMap(([, p]) => [...references(p.Properties?.PolicyDocument)]),
        ...[...roles].flatMap((r) => [...references(resources[r]?.Properties?.Policies)]),
      ].filter((ref) => masterSecrets.has(ref));
      expect({ id, reached }).toEqual({ id, reached: [] });
    }
  });

  test.each([
    ['clever-better-bot', 'clever_better_bot'],
    ['clever-better-ml', 'clever_better_ml'],
  ])('%s logs in with its own secret, whose user is %s', (family, role) => {
    const [, taskDefinition] = ofType('AWS::ECS::TaskDefinition').find(
      ([, t]) => t.Properties?.Family === family,
    )!;
    const secrets = taskDefinition.Properties!.ContainerDefinitions[0].Secrets as {
      Name: string;
      ValueFrom: Json;
    }[];
    const user = secrets.find((s) => s.Name === 'DB_USERNAME')!;
    const [secretId] = [...references(user.ValueFrom)];
    const template = JSON.parse(resources[secretId].Properties!.GenerateSecretString.SecretStringTemplate);
    expect(template).toEqual({ username: role });
    const password = secrets.find((s) => s.Name === 'DB_PASSWORD')!;
    expect([...references(password.ValueFrom)]).toEqual([secretId]);
  });
});
