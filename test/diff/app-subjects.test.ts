import { environments } from '../../environments';
import { CfnTemplate, identifySubjects, summarizeStack } from '../../lib/diff';
import { ENVIRONMENT_NAMES, synthesized } from '../helpers/app';
import { changed } from './fixtures';

// The risk summary recognises resources by the names and shapes the app synthesizes today. These
// tests run it on the real templates, so a rename in lib/ that would blind the summary fails here.
describe.each(ENVIRONMENT_NAMES)('risk summary on the real %s template', (name) => {
  const template = () => synthesized(name).template.toJSON() as CfnTemplate;
  const config = environments.find((e) => e.name === name)!;

  test("finds exactly one bot task definition, bot service, ML service and the ML service's scaling", () => {
    const s = identifySubjects(template());
    expect([
      s.botTaskDefinitions.size,
      s.botServices.size,
      s.mlTaskDefinitions.size,
      s.mlServices.size,
    ]).toEqual([1, 1, 1, 1]);
    const types = [...s.mlScaling].map((id) => template().Resources![id].Type).sort();
    expect(types).toEqual([
      'AWS::ApplicationAutoScaling::ScalableTarget',
      'AWS::ApplicationAutoScaling::ScalingPolicy',
    ]);
  });

  test('finds the config secret that holds live_trading_enabled', () => {
    const [id] = [...identifySubjects(template()).configSecrets];
    expect(template().Resources![id].Properties?.Name).toBe(`clever-better/${name}/config`);
  });

  test("reports a bump of the bot's pinned tag from the configured tag to the new one", () => {
    // An environment that pins by digest gets a tag-pinned image here, so the tag bump is comparable.
    const byTag = (image: string) =>
      config.bot.imageDigest
        ? image.replace(`@${config.bot.imageDigest}"`, `:${config.bot.imageTag}"`)
        : image;
    const pinned = template();
    const [pinnedTask] = [...identifySubjects(pinned).botTaskDefinitions];
    const before = changed(pinned, (r) => {
      const image = JSON.stringify(r[pinnedTask].Properties.ContainerDefinitions[0].Image);
      r[pinnedTask].Properties.ContainerDefinitions[0].Image = JSON.parse(byTag(image));
    });
    const [botTask] = [...identifySubjects(before).botTaskDefinitions];
    const after = changed(before, (r) => {
      const image = JSON.stringify(r[botTask].Properties.ContainerDefinitions[0].Image);
      r[botTask].Properties.ContainerDefinitions[0].Image = JSON.parse(
        image.replace(`:${config.bot.imageTag}"`, ':v9.9.9"'),
      );
    });
    const s = summarizeStack(config.stackName, before, after).summary;
    expect(s.taskDefinitions).toEqual([
      expect.objectContaining({
        service: 'bot',
        imageTags: [{ container: 'app', from: config.bot.imageTag, to: 'v9.9.9' }],
      }),
    ]);
    expect(s.blocked).toBe(false);
  });

  test('the template compared with itself has no change', () => {
    expect(summarizeStack(config.stackName, template(), template()).summary.changeCount).toBe(0);
  });
});
