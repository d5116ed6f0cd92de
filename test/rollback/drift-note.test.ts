import { driftNote } from '../../lambda/rollback/report';
import { images } from '../../lambda/rollback/task-definition';
import { RevisionInfo } from '../../lambda/rollback/types';

const REPO = '222222222222.dkr.ecr.eu-west-1.amazonaws.com/clever-better-bot';
const OLD = `sha256:${'1'.repeat(64)}`;
const NEW = `sha256:${'2'.repeat(64)}`;

const revision = (label: string, image: string): RevisionInfo => ({
  taskDefinitionArn: `arn:aws:ecs:eu-west-1:222222222222:task-definition/${label}`,
  label,
  images: images({ containerDefinitions: [{ name: 'app', image }] }),
});

describe('the drift note names the field the environment pins', () => {
  test('an environment that pins digests (production) is told to set imageDigest, with the digest', () => {
    const note = driftNote(
      'production',
      'bot',
      revision('clever-better-bot:12', `${REPO}@${NEW}`),
      revision('clever-better-bot:11', `${REPO}@${OLD}`),
      'update-service',
    );
    expect(note).toContain(`set bot.imageDigest = '${OLD}'`);
    expect(note).toContain(`in environments/production.ts (it says '${NEW}')`);
    expect(note).not.toContain('imageTag = ');
  });

  test('ml-service pinned by digest names ml.imageDigest', () => {
    const note = driftNote(
      'production',
      'ml-service',
      revision('clever-better-ml:5', `${REPO}@${NEW}`),
      revision('clever-better-ml:4', `${REPO}@${OLD}`),
      'stop-deployment',
    );
    expect(note).toContain(`set ml.imageDigest = '${OLD}'`);
  });

  test('an environment that pins tags (staging) is told to set imageTag', () => {
    const note = driftNote(
      'staging',
      'bot',
      revision('clever-better-bot:12', `${REPO}:v1.2.3`),
      revision('clever-better-bot:11', `${REPO}:v1.2.2`),
      'update-service',
    );
    expect(note).toContain("set bot.imageTag = 'v1.2.2' in environments/staging.ts (it says 'v1.2.3')");
  });
});
