import { ENVIRONMENT_NAMES, synthesized } from '../helpers/app';

/**
 * One small, reviewed snapshot per stack: how many resources of each type, and every physical name.
 * Logical ids and asset hashes are left out, so the snapshot changes only when the inventory does.
 */
describe.each(ENVIRONMENT_NAMES)('%s inventory', (name) => {
  test('resource types and physical names', () => {
    const resources = Object.values(synthesized(name).template.toJSON().Resources) as {
      Type: string;
      Properties?: Record<string, unknown>;
    }[];
    const counts: Record<string, number> = {};
    const names: string[] = [];
    for (const r of resources) {
      counts[r.Type] = (counts[r.Type] ?? 0) + 1;
      for (const key of [
        'Name',
        'ClusterName',
        'ServiceName',
        'Family',
        'LogGroupName',
        'RepositoryName',
        'DBName',
      ]) {
        const value = r.Properties?.[key];
        if (typeof value === 'string') names.push(`${r.Type} ${key}=${value}`);
      }
    }
    expect({
      counts: Object.fromEntries(Object.entries(counts).sort()),
      names: names.sort(),
    }).toMatchSnapshot();
  });
});
