/**
 * `cardlab assign` and `cardlab autograde`: student versions of instructor notebooks, and grading
 * of a submission against its source notebook (see src/coursework).
 */
import { Command, InvalidArgumentError } from 'commander';
import { assignFiles } from '../coursework/assign';
import { autograde, type GradeReport } from '../coursework/autograde';
import { stopCellsOnSignals } from '../cells/cell-process';

function positiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('expected a positive number');
  return number;
}

/** The report as a table, then the problems. */
export function formatGradeReport(report: GradeReport): string {
  const idWidth = Math.max(4, ...report.cells.map((c) => c.id.length));
  const rows = report.cells.map((c) => {
    const score = `${c.points}/${c.maxPoints}`.padStart(7);
    const first = `${c.passed ? 'pass' : 'FAIL'}  ${c.id.padEnd(idWidth)}  ${score}`;
    return c.message ? `${first}  ${c.message.split('\n').join('\n' + ' '.repeat(first.length + 2))}` : first;
  });
  const lines = [`${'cell'.padEnd(idWidth + 6)}  ${'points'.padStart(7)}`, ...rows, `${'total'.padEnd(idWidth + 6)}  ${`${report.total}/${report.max}`.padStart(7)}`];
  if (report.problems.length) lines.push('', 'problems:', ...report.problems.map((p) => `  - ${p}`));
  return lines.join('\n');
}

export function registerCourseworkCommands(program: Command): void {
  program
    .command('assign')
    .description('write the student versions of instructor notebooks (solutions stubbed, hidden tests removed, outputs cleared)')
    .argument('<notebooks...>', "instructor's source notebooks")
    .requiredOption('--out <dir>', 'release folder for the student versions')
    .action((notebooks: string[], options: { out: string }) => {
      for (const file of assignFiles(notebooks, options.out)) console.log(`wrote ${file}`);
    });

  program
    .command('autograde')
    .description("grade a submission in the cells sandbox, with the hidden tests of the instructor's notebook")
    .argument('<submission>', "the student's notebook")
    .requiredOption('--source <notebook>', "the instructor's source notebook")
    .option('--json', 'print the grade report as JSON')
    .option('--timeout <seconds>', 'time limit of the whole run', positiveNumber)
    .option('--memory <mb>', 'memory limit of the run in MB (everything it maps)', positiveNumber)
    .action(async (submission: string, options: { source: string; json?: boolean; timeout?: number; memory?: number }) => {
      stopCellsOnSignals(); // a grading child never outlives the command
      const report = await autograde({
        submission,
        source: options.source,
        timeoutMs: options.timeout === undefined ? undefined : options.timeout * 1000,
        memoryMb: options.memory,
      });
      console.log(options.json ? JSON.stringify(report, null, 2) : formatGradeReport(report));
    });
}
