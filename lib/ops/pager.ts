import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EnvironmentConfig } from '../../environments/types';
import { registerCommand } from './commands';
import { UsageError } from './context';
import { setConfigValue } from './pin';

/** Replaceable in tests: the Secrets Manager client and the file the version id is written to. */
export const pagerDeps = {
  secrets: (env: EnvironmentConfig) => new SecretsManagerClient({ region: env.region }),
  file: (env: EnvironmentConfig) => path.join(__dirname, '..', '..', 'environments', `${env.name}.ts`),
};

/**
 * `pager set-url`: writes the pager's integration URL into its secret (creating the secret the
 * first time) and the new value's version id into `environments/<env>.ts`
 * (`alerting.pager.urlSecretVersionId`). CloudFormation re-reads a dynamic reference only when its
 * text changes, so the version id in the reference is what makes the next deploy use the new URL.
 */
registerCommand('pager', {
  usage:
    'pager set-url --env <env> --url <https://…>   write the pager URL into its secret and the new version id into environments/<env>.ts (the next deploy subscribes that URL)',
  options: { url: 'value' },
  notLocal: 'the stand-in has no pager; its on-call inbox prints each page',
  maxPositionals: 1,
  async run(args, ctx) {
    if (args.positionals[0] !== 'set-url')
      throw new UsageError(
        `pager ${args.positionals[0] === undefined ? 'needs a subcommand' : `"${args.positionals[0]}" is not a subcommand`}: use pager set-url --env <env> --url <https://…>`,
      );
    const env = ctx.env as EnvironmentConfig;
    const pager = env.alerting.pager;
    if (ctx.env.name === 'local' || !pager)
      throw new UsageError(
        `${ctx.env.name} has no pager (alerting.pager in environments/${ctx.env.name}.ts): nothing to set`,
      );
    const url = args.options.url;
    let parsed: URL | undefined;
    try {
      parsed = typeof url === 'string' ? new URL(url) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.protocol !== 'https:')
      throw new UsageError(
        `--url ${url === undefined ? 'is missing' : `"${String(url)}" is not an https:// URL`}: give the pager integration's HTTPS endpoint (SNS subscribes it over HTTPS)`,
      );
    const secrets = pagerDeps.secrets(env);
    const SecretString = JSON.stringify({ [pager.urlSecretField]: parsed.toString() });
    let versionId: string | undefined;
    try {
      versionId = (
        await secrets.send(new PutSecretValueCommand({ SecretId: pager.urlSecretName, SecretString }))
      ).VersionId;
    } catch (err) {
      if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw err;
      versionId = (
        await secrets.send(
          new CreateSecretCommand({
            Name: pager.urlSecretName,
            SecretString,
            Description: `The ${env.name} pager's HTTPS integration URL (npm run ops -- pager set-url)`,
          }),
        )
      ).VersionId;
    }
    if (!versionId) throw new Error(`Secrets Manager returned no VersionId for ${pager.urlSecretName}`);
    ctx.print(`${pager.urlSecretName}: ${pager.urlSecretField} set, version ${versionId}`);
    const file = pagerDeps.file(env);
    fs.writeFileSync(
      file,
      setConfigValue(
        fs.readFileSync(file, 'utf8'),
        ['alerting', 'pager', 'urlSecretVersionId'],
        `'${versionId}'`,
      ),
    );
    ctx.print(`${path.relative(process.cwd(), file)}: alerting.pager.urlSecretVersionId = '${versionId}'`);
    ctx.print(
      `Next: git checkout -b pager/${env.name}-url && git commit -am "${env.name}: pager URL rotated" && open a pull request; ` +
        'its deploy subscribes the new URL (a new subscription: confirm it in the pager if it asks).',
    );
    return 0;
  },
});
