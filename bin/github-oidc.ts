#!/usr/bin/env node
import './cli-setup';
import { App } from 'aws-cdk-lib';
import { environments } from '../environments';
import { applyChecks } from '../lib/checks';
import { addGitHubOidcStacks, DEFAULT_GITHUB_REPOSITORY } from '../lib/github-oidc-stack';

// A separate app, deployed once per account (docs/pipeline.md "One-time setup per account"):
//   npx cdk deploy -a "npx ts-node --swc bin/github-oidc.ts" -o cdk.out.github-oidc -c githubRepository=<owner>/<repo> StagingGitHubOidc
// (its own output directory, so the main app's cdk.out is left alone)
// Context: githubRepository (default DEFAULT_GITHUB_REPOSITORY); githubOidcProviderArn, the ARN of a
// GitHub provider the account already has (applied to the stack of the account in that ARN).
const app = new App();
const repository =
  (app.node.tryGetContext('githubRepository') as string | undefined) ?? DEFAULT_GITHUB_REPOSITORY;
if (repository === DEFAULT_GITHUB_REPOSITORY) {
  // The roles would trust a repository that is not yours: deployable, but no workflow could use them.
  process.stderr.write(
    `WARNING: githubRepository is the placeholder "${DEFAULT_GITHUB_REPOSITORY}": the roles would trust that ` +
      'repository, not yours. Pass -c githubRepository=<owner>/<repo>.\n',
  );
}
const existingProviderArn = app.node.tryGetContext('githubOidcProviderArn') as string | undefined;
addGitHubOidcStacks(app, environments, { repository, existingProviderArn });
applyChecks(app);
