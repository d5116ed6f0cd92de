import { environments } from '../../environments';
import { alarmsInvoking, CfnTemplate, headline, identifySubjects, summarizeStack } from '../../lib/diff';
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

  describe('the project rules recognise the real resources', () => {
    type Resources = Parameters<Parameters<typeof changed>[1]>[0];
    const diffOf = (edit: (r: Resources) => void) =>
      summarizeStack(config.stackName, template(), changed(template(), edit));

    test("a change to the Betfair secret's template blocks, naming the secret", () => {
      const d = diffOf((r) => {
        const id = Object.keys(r).find((k) => r[k].Properties?.Name === `clever-better/${name}/betfair`)!;
        r[id].Properties.GenerateSecretString.SecretStringTemplate =
          '{"app_key":"","username":"","extra":""}';
      });
      expect(d.summary.blocked).toBe(true);
      expect(headline([d])).toBe(
        `⛔ Blocked: ${config.stackName}: secret \`clever-better/${name}/betfair\` would be regenerated`,
      );
    });

    test('every emergency-stop trigger alarm, losing its action, blocks by its alarm name', () => {
      const t = template();
      const resources = t.Resources!;
      const stop = new Set(
        [...identifySubjects(t).emergencyStop].filter(([, p]) => p === 'function').map(([id]) => id),
      );
      const triggers = [...alarmsInvoking(resources, stop)];
      expect(triggers.length).toBeGreaterThan(0);
      for (const id of triggers) {
        const d = diffOf((r) => {
          r[id].Properties.ActionsEnabled = false;
        });
        expect(headline([d])).toBe(
          `⛔ Blocked: ${config.stackName}: emergency stop disconnected from \`${resources[id].Properties!.AlarmName}\``,
        );
      }
    });

    test('a VPC CIDR change is one blocking finding naming the database, services, load balancer and migration function', () => {
      const t = template();
      const vpc = Object.values(t.Resources!).find((r) => r.Type === 'AWS::EC2::VPC')!;
      const prefix = String(vpc.Properties!.CidrBlock).split('.').slice(0, 2).join('.');
      const moved = JSON.parse(JSON.stringify(t).split(`"${prefix}.`).join('"10.250.')) as CfnTemplate;
      const s = summarizeStack(config.stackName, t, moved).summary;
      const network = s.findings.filter((f) => f.rule === 'network-replaced');
      expect(network).toHaveLength(1);
      expect(network[0].message).toMatch(/RDS DBInstance/);
      expect(network[0].message).toMatch(/ECS Service `bot`.*ECS Service `ml-service`/);
      expect(network[0].message).toMatch(/LoadBalancer/);
      expect(network[0].message).toMatch(/Lambda Function `Migrations/);
      expect(s.findings.filter((f) => f.rule.startsWith('sg-'))).toEqual([]);
      expect(s.blocked).toBe(true);
    });

    test('a stack-wide tag is one line', () => {
      const d = diffOf((r) => {
        for (const res of Object.values(r)) {
          if (Array.isArray(res.Properties?.Tags))
            res.Properties.Tags.push({ Key: 'cost-centre', Value: 'x' });
        }
      });
      expect(d.summary.findings.map((f) => f.rule)).toEqual(['tags-only']);
      expect(d.summary.blocked).toBe(false);
    });
  });
});
