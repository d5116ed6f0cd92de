/**
 * Bad input or configuration: the message names the field, the value and the fix. Nothing was
 * changed when this is thrown.
 */
export class InputError extends Error {
  constructor(field: string, value: unknown, fix: string) {
    super(`${field} = ${JSON.stringify(value)} is not usable. Fix: ${fix}`);
    this.name = 'InputError';
  }
}

/** The service has no earlier successful deployment to return to. Nothing was changed. */
export class NoRollbackTargetError extends Error {
  constructor(service: string, current: string) {
    super(
      `${service} has no successful deployment of a task definition other than the current ${current} ` +
        'in the ECS deployment history (kept 90 days): nothing was changed. Fix: deploy the wanted image ' +
        'tag through environments/ and cdk deploy instead.',
    );
    this.name = 'NoRollbackTargetError';
  }
}
