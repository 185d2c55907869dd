import { readFileSync } from 'node:fs';
import path from 'node:path';

// No Docker engine runs where the tests run, and hadolint is not packaged for Debian: these are the Dockerfile's
// promises checked against the files they depend on.
const root = path.join(__dirname, '../..');
const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  files: string[];
  engines: { node: string };
};
const stages = dockerfile.split(/^FROM /m).slice(1);
const runtime = stages.at(-1) ?? '';

describe('Dockerfile', () => {
  it('builds in one stage and runs from another, on an LTS Node at least as new as engines asks', () => {
    expect(stages).toHaveLength(2);
    const majors = stages.map((s) => Number(/^node:(\d+)-/.exec(s)?.[1]));
    const minimum = Number(/(\d+)/.exec(pkg.engines.node)?.[1]);
    expect(majors.every((m) => m >= minimum && m % 2 === 0)).toBe(true);
  });

  it('installs production dependencies only in the runtime stage, and copies every packaged folder', () => {
    expect(runtime).toMatch(/npm ci --omit=dev/);
    for (const folder of pkg.files) {
      const source = folder === 'dist' ? `--from=build /app/dist` : folder;
      expect({ folder, copied: runtime.includes(`COPY ${source} ./${folder}`) }).toEqual({ folder, copied: true });
    }
  });

  it('runs hfu serve as a non-root user, listening beyond the container, with a health check', () => {
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/HFU_SERVICE__HOST=0\.0\.0\.0/);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n?.*\/health/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["node", "bin\/hfu\.js"\]$/m);
    expect(runtime).toMatch(/^CMD \["serve"\]$/m);
  });
});
