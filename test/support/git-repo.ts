import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A real git repository on disk, made by a test, reachable as file://<dir>. */
export class GitRepo {
  readonly commits: Record<string, string> = {};

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.git('init', '--quiet', '--initial-branch=main');
  }

  get url(): string {
    return `file://${this.dir}`;
  }

  git(...args: string[]): string {
    return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], {
      cwd: this.dir,
      env: { PATH: process.env.PATH, HOME: this.dir, GIT_CONFIG_NOSYSTEM: '1' },
      encoding: 'utf8',
    }).trim();
  }

  /** Writes the files (mode 755 for .sh), commits them and remembers the commit under `label`. */
  commit(label: string, files: Record<string, string>): string {
    for (const [path, content] of Object.entries(files)) {
      const file = join(this.dir, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content, { mode: path.endsWith('.sh') ? 0o755 : 0o644 });
    }
    this.git('add', '--all');
    this.git('commit', '--quiet', '-m', label);
    this.commits[label] = this.git('rev-parse', 'HEAD');
    return this.commits[label];
  }

  branch(name: string, from = 'main'): void {
    this.git('checkout', '--quiet', '-b', name, from);
  }

  checkout(name: string): void {
    this.git('checkout', '--quiet', name);
  }

  /**
   * A bare clone at `dir` that the sandbox's user may push to (the agents' branches, merges): what
   * a project's repository is in the tests. Returns its file:// URL.
   */
  publishBare(dir: string): string {
    execFileSync('git', ['clone', '--quiet', '--bare', this.dir, dir]);
    execFileSync('chmod', ['-R', 'a+rwX', dir]);
    return `file://${dir}`;
  }
}

/** git on a bare repository (`--git-dir`), with no user or system config: `(...args) => stdout`. */
export function bareGit(dir: string, home: string): (...args: string[]) => string {
  return (...args) =>
    execFileSync('git', ['--git-dir', dir, ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, GIT_CONFIG_NOSYSTEM: '1', HOME: home },
    }).trim();
}
