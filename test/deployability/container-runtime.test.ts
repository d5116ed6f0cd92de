/**
 * Rule: a container with a read-only root filesystem gets writable HOME and cache paths, and a
 * container told to verify the database's certificate is told where the CA bundle is.
 *
 * Amazon ECS Developer Guide, task definition parameter `readonlyRootFilesystem`
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html): only
 * mounted volumes are writable; Python libraries write caches under `$HOME`/`$XDG_CACHE_HOME` and fail
 * at start-up otherwise. Amazon RDS User Guide, "Using SSL/TLS to encrypt a connection to a DB
 * instance" (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html): clients
 * verify the server against the RDS CA bundle, which is not in the system trust store; libpq reads it
 * from `PGSSLROOTCERT`. docs/runtime-contract.md "The runtime contract" says what the images must contain.
 */
import { allResources, expectChecked } from './walk';

interface Container {
  Name: string;
  ReadonlyRootFilesystem?: boolean;
  Environment?: { Name: string; Value: unknown }[];
  MountPoints?: { ContainerPath: string; ReadOnly?: boolean }[];
}

function containers(): { where: string; container: Container }[] {
  return allResources('AWS::ECS::TaskDefinition').flatMap(({ resource, where }) =>
    ((resource.Properties?.ContainerDefinitions ?? []) as Container[]).map((container) => ({
      where: `${where}/${container.Name}`,
      container,
    })),
  );
}

const env = (c: Container, name: string) => c.Environment?.find((e) => e.Name === name)?.Value;

describe('rule: containers start on a read-only root and verify TLS (ECS readonlyRootFilesystem, RDS SSL/TLS)', () => {
  test('HOME and XDG_CACHE_HOME of a read-only container lie under a writable mount', () => {
    const violations: string[] = [];
    let checked = 0;
    for (const { where, container } of containers()) {
      if (container.ReadonlyRootFilesystem !== true) continue;
      checked++;
      const writable = (container.MountPoints ?? [])
        .filter((m) => m.ReadOnly !== true)
        .map((m) => m.ContainerPath);
      for (const name of ['HOME', 'XDG_CACHE_HOME']) {
        const value = env(container, name);
        const ok =
          typeof value === 'string' && writable.some((p) => value === p || value.startsWith(`${p}/`));
        if (!ok)
          violations.push(
            `${where}: ${name}=${JSON.stringify(value)} is not under a writable mount (${writable.join(', ') || 'none'})`,
          );
      }
    }
    expect(violations).toEqual([]);
    expectChecked(checked, 'read-only container');
  });

  test('a container that verifies the database certificate is given the CA bundle path', () => {
    const violations: string[] = [];
    let checked = 0;
    for (const { where, container } of containers()) {
      if (env(container, 'DB_SSLMODE') !== 'verify-full') continue;
      checked++;
      const path = env(container, 'PGSSLROOTCERT');
      if (typeof path !== 'string' || !path.startsWith('/'))
        violations.push(
          `${where}: DB_SSLMODE=verify-full without an absolute PGSSLROOTCERT (got ${JSON.stringify(path)})`,
        );
    }
    expect(violations).toEqual([]);
    expectChecked(checked, 'container with DB_SSLMODE=verify-full');
  });
});
