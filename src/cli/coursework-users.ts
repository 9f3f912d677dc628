/**
 * `cardlab coursework add-user`: creates an account in the server's coursework database, typically
 * the first instructor (who then creates the students through the API). The password comes from
 * stdin or a file, never from the command line (where `ps` and the shell history would keep it).
 */
import fs from 'fs';
import { Command } from 'commander';
import { Accounts, ROLES, type Role } from '../../server/accounts';
import { resolveConfig } from '../../server/config';
import { openDb } from '../../server/db';

interface AddUserOpts {
  role: string;
  name: string;
  passwordFile?: string;
  data?: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The first line, without its line ending: `echo secret | cardlab …` and files ending in a newline both work. */
export function firstLine(text: string): string {
  return text.split(/\r?\n/)[0];
}

export function registerCourseworkUserCommands(program: Command): void {
  const coursework = program.commands.find((c) => c.name() === 'coursework') ?? program.command('coursework').description('coursework: accounts, assignments, grading');
  coursework
    .command('add-user')
    .description('create an instructor or student account (password read from stdin or --password-file)')
    .requiredOption('--name <name>', 'login name')
    .option('--role <role>', `${ROLES.join(' or ')}`, 'student')
    .option('--password-file <file>', 'read the password from the first line of this file instead of stdin')
    .option('--data <dir>', "the server's data folder (env CARDLAB_DATA; default .cardlab/)")
    .action(async (opts: AddUserOpts) => {
      if (!(ROLES as readonly string[]).includes(opts.role)) throw new Error(`--role must be ${ROLES.join(' or ')}, not "${opts.role}"`);
      const password = firstLine(opts.passwordFile ? fs.readFileSync(opts.passwordFile, 'utf8') : await readStdin());
      const config = resolveConfig({ data: opts.data });
      const db = openDb(config.dataDir);
      try {
        const user = await new Accounts(db).createUser(opts.name, opts.role as Role, password);
        console.log(`cardlab: created ${user.role} "${user.name}" in ${config.dataDir}`);
      } finally {
        db.close();
      }
    });
}
