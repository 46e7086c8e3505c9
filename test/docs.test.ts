import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '' && existsSync(join(root, f)));
const textFiles = tracked.filter((f) => /\.(md|ts|mjs|js|json|ya?ml|http)$/.test(f) && f !== 'package-lock.json');

describe('the documentation', () => {
  it('refers to nothing outside the repository', () => {
    const outside = textFiles.filter((f) => /\.\.\/shared|\bSPEC\.md\b/.test(readFileSync(join(root, f), 'utf8')));
    expect(outside).toEqual([]);
  });

  it('has every relative Markdown link resolve to a file of the repository', () => {
    const broken: string[] = [];
    for (const file of tracked.filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const [, target = ''] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/i.test(target)) continue;
        if (!existsSync(join(root, dirname(file), target))) broken.push(`${file} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('has a section for every `docs/spec.md §n` that the code cites', () => {
    const spec = readFileSync(join(root, 'docs/spec.md'), 'utf8');
    const sections = new Set([...spec.matchAll(/^## (\d+)\. /gm)].map((m) => m[1]));
    const cited = textFiles.flatMap((f) =>
      [...readFileSync(join(root, f), 'utf8').matchAll(/docs\/spec\.md §(\d+)/g)].map((m) => `${f} §${m[1]}`),
    );
    expect(cited.length).toBeGreaterThan(0);
    expect(cited.filter((c) => !sections.has(c.split('§')[1]))).toEqual([]);
  });
});
