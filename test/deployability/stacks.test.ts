import { environments } from '../../environments';
import { allResources, appStacks, expectChecked } from './walk';

// The rules of this folder are only as wide as the walker: it must see every stack the app deploys.
describe('the deployability walker', () => {
  test('sees every environment stack lib/app.ts defines, each once', () => {
    const walked = appStacks().map((s) => s.name);
    expect(new Set(walked).size).toBe(walked.length);
    for (const config of environments) expect(walked).toContain(config.stackName);
  });

  test('reads resources with their account and region', () => {
    const resources = allResources();
    expectChecked(resources.length, 'resource');
    for (const { stack } of resources) {
      expect(stack.account).toMatch(/^\d{12}$/);
      expect(stack.region).toMatch(/^[a-z]{2}-[a-z]+-\d$/);
    }
  });

  test('expectChecked refuses a rule that checked nothing', () => {
    expect(() => expectChecked(0, 'alarm action')).toThrow('checked no alarm action');
  });
});
