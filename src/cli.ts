/**
 * The `cardlab` command. Each command group lives in its own module under
 * src/cli/ and registers itself here.
 */
import { Command } from 'commander';
import { registerBackendCommands } from './cli/backends';
import { registerModelCommands } from './cli/model';
import { registerCardsCommands } from './cli/cards';
import { registerTrainCommands } from './cli/train';
import { registerServeCommands } from './cli/serve';
import { registerBenchCommands } from './cli/bench';
import { registerCourseworkCommands } from './cli/coursework';
import { registerCourseworkUserCommands } from './cli/coursework-users';
import { registerNotebooksCommands } from './cli/notebooks';
import { registerFiguresCommands } from './cli/figures';

export function buildProgram(): Command {
  const program = new Command('cardlab')
    .description('DenseNet teaching kit: models on TensorFlow.js, flashcards with live demos, coursework')
    .showHelpAfterError()
    .exitOverride();
  registerBackendCommands(program);
  registerModelCommands(program);
  registerCardsCommands(program);
  registerTrainCommands(program);
  registerServeCommands(program);
  registerBenchCommands(program);
  registerCourseworkCommands(program);
  registerCourseworkUserCommands(program);
  registerNotebooksCommands(program);
  registerFiguresCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // commander throws on --help/--version and on usage errors after printing them.
    const code = (err as { exitCode?: number }).exitCode;
    if (typeof code === 'number') process.exit(code);
    throw err;
  }
}
