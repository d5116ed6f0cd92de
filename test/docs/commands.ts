import * as fs from 'node:fs';
import * as path from 'node:path';

/** One shell command of a document: its tool (`ops`, `cdk`, `aws`, `docker`) and its words. */
export interface DocCommand {
  readonly tool: 'ops' | 'cdk' | 'aws' | 'docker';
  readonly words: readonly string[];
  readonly line: string;
}

/** Every command in the ```bash blocks of `file`, pipes split, `VAR=value` prefixes dropped. */
export function docCommands(file: string): DocCommand[] {
  const text = fs.readFileSync(path.join(__dirname, '..', '..', file), 'utf8');
  const commands: DocCommand[] = [];
  for (const block of text.matchAll(/```bash\n([\s\S]*?)```/g)) {
    for (const raw of block[1].split('\n')) {
      for (const part of raw.trim().split(/\s+\|\s+/)) {
        // Quoted JSON stays one word.
        const words = (part.match(/'[^']*'|\S+/g) ?? []).filter(
          (w, i, all) => !(/^[A-Z_]+=/.test(w) && all.slice(0, i).every((x) => /^[A-Z_]+=/.test(x))),
        );
        if (words.length === 0) continue;
        if (words[0] === 'npm' && words[1] === 'run' && words[2] === 'ops' && words[3] === '--')
          commands.push({ tool: 'ops', words: words.slice(4), line: part });
        else if (words[0] === 'npx' && words[1] === 'cdk')
          commands.push({ tool: 'cdk', words: words.slice(2), line: part });
        else if (words[0] === 'aws') commands.push({ tool: 'aws', words: words.slice(1), line: part });
        else if (words[0] === 'docker') commands.push({ tool: 'docker', words: words.slice(1), line: part });
        else throw new Error(`${file}: a command of an unknown tool: ${part}`);
      }
    }
  }
  return commands;
}
