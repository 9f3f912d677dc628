/**
 * Coursework through the server: accounts and sessions, the assignments of coursework/*.ipynb (students
 * only ever get the student version), submissions autograded in the cells sandbox by a queue with a
 * concurrency limit, and the instructor's gradebook (JSON and CSV).
 */
import fs from 'fs';
import path from 'path';
import express, { type Request, type RequestHandler, type Router } from 'express';
import { z } from 'zod';
import { parseNotebook, readNotebook, cellSource, type Notebook } from '../src/cells/notebook';
import { assign, autograde, readAssignment, type GradeReport } from '../src/coursework';
import { Accounts, DuplicateUserError, MIN_PASSWORD_LENGTH, PasswordCheckBusyError, ROLES, SESSION_DAYS, USER_NAME, type User } from './accounts';
import { LoginGuard } from './login-guard';
import type { ServerConfig } from './config';
import type { Db } from './db';
import { HttpError, notFound, validate } from './errors';

/** What grades and releases: src/coursework (the same functions as `cardlab autograde` and `cardlab assign`). */
export interface CourseworkTools {
  autograde: typeof autograde;
  assign: (source: Notebook) => Notebook;
}

export const courseworkTools: CourseworkTools = { autograde, assign };

/** Markers of the instructor's regions: a "student version" still holding one is never served. */
const SECRET_MARKERS = /\/\/\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)/;

export const SESSION_COOKIE = 'cardlab_session';
const ASSIGNMENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

const nameSchema = z.string().regex(USER_NAME, 'letters, digits, _ . @ - (at most 64)');
const loginBody = z.object({ name: z.string().min(1).max(200), password: z.string().min(1).max(1000) }).strict();
const newUserBody = z
  .object({ name: nameSchema, password: z.string().min(MIN_PASSWORD_LENGTH).max(1000), role: z.enum(ROLES).default('student') })
  .strict();
const assignmentIdSchema = z.string().regex(ASSIGNMENT_ID, 'an assignment id is a coursework/*.ipynb file name without .ipynb');
const submissionIdSchema = z.coerce.number().int().positive();

export interface Assignment {
  id: string;
  file: string;
  maxPoints: number | null;
  /** Why the notebook cannot be used as an assignment (then it has no points). */
  error?: string;
}

export function listAssignments(dir: string): Assignment[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((name) => name.endsWith('.ipynb') && ASSIGNMENT_ID.test(name.slice(0, -6)))
    .sort()
    .map((name) => {
      const file = path.join(dir, name);
      const id = name.slice(0, -6);
      try {
        return { id, file, maxPoints: readAssignment(file).graded.reduce((sum, g) => sum + g.points, 0) };
      } catch (err) {
        return { id, file, maxPoints: null, error: (err as Error).message };
      }
    });
}

interface SubmissionRow {
  id: number;
  user_id: number;
  assignment: string;
  status: 'queued' | 'grading' | 'graded' | 'failed';
  score: number | null;
  max_score: number | null;
  report: string | null;
  submitted_at: string;
  graded_at: string | null;
}

function submissionView(row: SubmissionRow) {
  return {
    id: row.id,
    assignment: row.assignment,
    status: row.status,
    score: row.score,
    maxScore: row.max_score,
    report: row.report === null ? null : (JSON.parse(row.report) as GradeReport),
    submittedAt: row.submitted_at,
    gradedAt: row.graded_at,
  };
}

/** A student with this many submissions waiting or being graded gets 429 for the next one. */
export const MAX_QUEUED_PER_STUDENT = 3;

export class QueueFullError extends Error {
  override name = 'QueueFullError';
}

/**
 * Grades submissions in the background, at most `concurrency` at once. Waiting submissions are
 * taken round-robin by student (each student's own oldest first), so one student's pile of slow
 * submissions delays another student's by at most one grade per running slot; and a student may have
 * at most `maxQueuedPerStudent` submissions waiting or grading. Each grade runs in the sandbox's
 * child process, so a submission that loops or allocates is killed there while the server goes on
 * answering; whatever goes wrong is stored as a 0 with the reason.
 */
export class Grader {
  /** Waiting submission ids per student, oldest first. */
  private pending = new Map<number, number[]>();
  /** When each student's latest grade started (a counter), for the round-robin; forgotten when they have none queued. */
  private lastStarted = new Map<number, number>();
  private turns = 0;
  /** Submissions waiting or grading per student. */
  private inQueue = new Map<number, number>();
  private active = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly db: Db,
    private readonly tools: CourseworkTools,
    private readonly assignmentsDir: string,
    private readonly limits: { timeoutMs: number; memoryMb: number; concurrency: number; maxQueuedPerStudent?: number },
  ) {
    // Submissions left queued or half-graded by a stopped server are graded again (no cap: already accepted).
    const left = db.prepare("SELECT id, user_id FROM submissions WHERE status IN ('queued', 'grading') ORDER BY id").all() as { id: number; user_id: number }[];
    for (const { id, user_id } of left) this.add(user_id, id);
    this.pump();
  }

  private get cap(): number {
    return this.limits.maxQueuedPerStudent ?? MAX_QUEUED_PER_STUDENT;
  }

  /** Submissions of `userId` waiting or being graded. */
  queuedFor(userId: number): number {
    return this.inQueue.get(userId) ?? 0;
  }

  /** Throws QueueFullError when `userId` may not queue another submission now. */
  checkRoom(userId: number): void {
    if (this.queuedFor(userId) >= this.cap) {
      throw new QueueFullError(
        `you already have ${this.queuedFor(userId)} submissions waiting or being graded (at most ${this.cap}); submit again when one is graded`,
      );
    }
  }

  private add(userId: number, id: number): void {
    const own = this.pending.get(userId);
    if (own) own.push(id);
    else this.pending.set(userId, [id]);
    this.inQueue.set(userId, this.queuedFor(userId) + 1);
  }

  enqueue(id: number, userId: number): void {
    this.checkRoom(userId);
    this.add(userId, id);
    this.pump();
  }

  /** Resolves when nothing is queued or grading. */
  idle(): Promise<void> {
    if (this.active === 0 && this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * The next submission: from the student whose last grade started longest ago (never: first), their
   * oldest; ties go to the oldest submission. So each student gets one turn per round.
   */
  private takeNext(): { id: number; userId: number } | null {
    let best: { userId: number; ids: number[]; turn: number } | null = null;
    for (const [userId, ids] of this.pending) {
      const turn = this.lastStarted.get(userId) ?? -1;
      if (!best || turn < best.turn || (turn === best.turn && ids[0] < best.ids[0])) best = { userId, ids, turn };
    }
    if (!best) return null;
    const id = best.ids.shift()!;
    if (best.ids.length === 0) this.pending.delete(best.userId);
    this.lastStarted.set(best.userId, ++this.turns);
    return { id, userId: best.userId };
  }

  private pump(): void {
    while (this.active < this.limits.concurrency) {
      const next = this.takeNext();
      if (!next) break;
      this.active++;
      void this.grade(next.id).finally(() => {
        this.active--;
        const left = this.queuedFor(next.userId) - 1;
        if (left > 0) this.inQueue.set(next.userId, left);
        else {
          this.inQueue.delete(next.userId);
          this.lastStarted.delete(next.userId);
        }
        this.pump();
        if (this.active === 0 && this.pending.size === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
      });
    }
  }

  private async grade(id: number): Promise<void> {
    if (!this.db.open) return;
    const row = this.db.prepare('SELECT assignment, notebook FROM submissions WHERE id = ?').get(id) as { assignment: string; notebook: string } | undefined;
    if (!row) return;
    this.db.prepare("UPDATE submissions SET status = 'grading' WHERE id = ?").run(id);
    let report: GradeReport;
    let status: 'graded' | 'failed' = 'graded';
    try {
      const source = path.join(this.assignmentsDir, `${row.assignment}.ipynb`);
      if (!fs.existsSync(source)) throw new Error(`the assignment "${row.assignment}" is no longer in ${this.assignmentsDir}`);
      report = await this.tools.autograde({
        submission: parseNotebook(JSON.parse(row.notebook), `submission ${id}`),
        source,
        timeoutMs: this.limits.timeoutMs,
        memoryMb: this.limits.memoryMb,
      });
    } catch (err) {
      status = 'failed';
      report = { total: 0, max: 0, cells: [], problems: [`not graded: ${(err as Error).message}`] };
    }
    if (!this.db.open) return; // the server stopped meanwhile: graded again at the next start
    this.db
      .prepare('UPDATE submissions SET status = ?, score = ?, max_score = ?, report = ?, graded_at = ? WHERE id = ?')
      .run(status, report.total, report.max, JSON.stringify(report), new Date().toISOString(), id);
  }
}

/** One CSV field (RFC 4180), with formula-looking text defused for spreadsheets. */
export function csvField(value: string | number | null): string {
  let text = value === null ? '' : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return null;
}

export interface CourseworkDeps {
  db: Db;
  accounts: Accounts;
  /** Login throttling (default: DEFAULT_LOGIN_GUARD). */
  logins?: LoginGuard;
  grader: Grader;
  tools: CourseworkTools;
  config: ServerConfig;
}

type Authed = Request & { user?: User };

export function courseworkRoutes(deps: CourseworkDeps): Router {
  const { db, accounts, grader, tools, config } = deps;
  const logins = deps.logins ?? new LoginGuard();
  const api = express.Router();

  const signedIn: RequestHandler = (req, _res, next) => {
    const token = cookieValue(req.get('cookie'), SESSION_COOKIE);
    const user = token ? accounts.sessionUser(token) : null;
    if (!user) return next(new HttpError(401, 'sign in first (POST /api/login)'));
    (req as Authed).user = user;
    next();
  };
  const instructor: RequestHandler = (req, _res, next) => {
    if ((req as Authed).user?.role !== 'instructor') return next(new HttpError(403, 'only an instructor may do this'));
    next();
  };
  const userOf = (req: Request): User => (req as Authed).user!;
  const assignment = (id: unknown): Assignment => {
    const checked = validate(assignmentIdSchema, id, 'assignment id');
    const found = listAssignments(config.courseworkDir).find((a) => a.id === checked);
    if (!found) throw notFound(`assignment "${checked}"`);
    return found;
  };

  api.post('/login', async (req, res) => {
    const body = validate(loginBody, req.body, 'login');
    const address = req.socket.remoteAddress ?? 'unknown';
    const verdict = logins.check(body.name, address);
    if (!verdict.ok) {
      const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
      res.set('Retry-After', String(seconds));
      throw new HttpError(429, `${verdict.reason}: try again in ${seconds} s`);
    }
    let user: User | null;
    try {
      user = await accounts.authenticate(body.name, body.password);
    } catch (err) {
      if (!(err instanceof PasswordCheckBusyError)) throw err;
      res.set('Retry-After', '1');
      throw new HttpError(503, err.message);
    }
    if (!user) {
      logins.failed(body.name, address);
      throw new HttpError(401, 'wrong name or password');
    }
    logins.succeeded(body.name, address);
    res.cookie(SESSION_COOKIE, accounts.startSession(user), {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      maxAge: SESSION_DAYS * 86_400_000,
    });
    res.json(user);
  });

  api.post('/logout', (req, res) => {
    const token = cookieValue(req.get('cookie'), SESSION_COOKIE);
    if (token) accounts.endSession(token);
    res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', path: '/' });
    res.json({ ok: true });
  });

  api.get('/me', signedIn, (req, res) => {
    res.json(userOf(req));
  });

  api.get('/users', signedIn, instructor, (_req, res) => {
    res.json(accounts.users());
  });

  api.post('/users', signedIn, instructor, async (req, res) => {
    const body = validate(newUserBody, req.body, 'new user');
    try {
      res.status(201).json(await accounts.createUser(body.name, body.role, body.password));
    } catch (err) {
      if (err instanceof DuplicateUserError) throw new HttpError(409, err.message);
      throw err;
    }
  });

  api.get('/assignments', signedIn, (req, res) => {
    const user = userOf(req);
    // Why a notebook is broken is for the instructor (the message may quote its source).
    res.json(listAssignments(config.courseworkDir).map(({ id, maxPoints, error }) => ({ id, maxPoints, ...(error && user.role === 'instructor' ? { error } : {}) })));
  });

  // The student version only: built by the tooling's assign, and refused if any marked region survived.
  api.get('/assignments/:id/notebook', signedIn, async (req, res) => {
    const found = assignment(req.params.id);
    let student: Notebook;
    try {
      student = parseNotebook(tools.assign(readNotebook(found.file)), `student version of ${found.id}`);
    } catch (err) {
      console.error(`cardlab: coursework/${found.id}.ipynb: ${(err as Error).message}`);
      throw new HttpError(500, `the assignment "${found.id}" cannot be released (its notebook is broken: the instructor sees why in GET /api/assignments)`);
    }
    if (student.cells.some((cell) => SECRET_MARKERS.test(cellSource(cell)))) {
      throw new HttpError(500, `the student version of "${found.id}" still holds a solution or hidden tests: not served`);
    }
    res.set('Content-Disposition', `attachment; filename="${found.id}.ipynb"`).json(student);
  });

  api.get('/assignments/:id/source', signedIn, instructor, (req, res) => {
    res.json(readNotebook(assignment(req.params.id).file));
  });

  api.post('/assignments/:id/submissions', signedIn, (req, res) => {
    const found = assignment(req.params.id);
    let notebook: Notebook;
    try {
      notebook = parseNotebook(req.body, 'submission');
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
    const user = userOf(req);
    try {
      grader.checkRoom(user.id);
    } catch (err) {
      res.set('Retry-After', '30');
      throw new HttpError(429, (err as Error).message);
    }
    const info = db
      .prepare("INSERT INTO submissions (user_id, assignment, notebook, status, submitted_at) VALUES (?, ?, ?, 'queued', ?)")
      .run(user.id, found.id, JSON.stringify(notebook), new Date().toISOString());
    const id = Number(info.lastInsertRowid);
    grader.enqueue(id, user.id);
    res.status(202).json({ id, assignment: found.id, status: 'queued' });
  });

  api.get('/submissions/mine', signedIn, (req, res) => {
    const rows = db.prepare('SELECT * FROM submissions WHERE user_id = ? ORDER BY id').all(userOf(req).id) as SubmissionRow[];
    res.json(rows.map(submissionView));
  });

  // Someone else's submission is "not found" for a student: its existence is not theirs to know.
  api.get('/submissions/:id', signedIn, (req, res) => {
    const id = validate(submissionIdSchema, req.params.id, 'submission id');
    const row = db.prepare('SELECT * FROM submissions WHERE id = ?').get(id) as SubmissionRow | undefined;
    const user = userOf(req);
    if (!row || (user.role !== 'instructor' && row.user_id !== user.id)) throw notFound(`submission ${id}`);
    res.json(submissionView(row));
  });

  /** Each student's latest submission per assignment, with how many they made. */
  const gradebook = () => {
    const assignments = listAssignments(config.courseworkDir).map(({ id, maxPoints }) => ({ id, maxPoints }));
    const rows = db
      .prepare(
        `SELECT u.name AS student, s.assignment, s.status, s.score, s.max_score AS maxScore, s.submitted_at AS submittedAt,
                (SELECT COUNT(*) FROM submissions c WHERE c.user_id = s.user_id AND c.assignment = s.assignment) AS submissions
         FROM submissions s JOIN users u ON u.id = s.user_id
         WHERE s.id = (SELECT MAX(l.id) FROM submissions l WHERE l.user_id = s.user_id AND l.assignment = s.assignment)
         ORDER BY u.name, s.assignment`,
      )
      .all() as Array<{ student: string; assignment: string; status: string; score: number | null; maxScore: number | null; submittedAt: string; submissions: number }>;
    const students = accounts.users().filter((u) => u.role === 'student').map((u) => u.name);
    return { assignments, students, grades: rows };
  };

  api.get('/gradebook', signedIn, instructor, (_req, res) => {
    res.json(gradebook());
  });

  api.get('/gradebook.csv', signedIn, instructor, (_req, res) => {
    const header = ['student', 'assignment', 'score', 'max_score', 'status', 'submitted_at', 'submissions'];
    const lines = gradebook().grades.map((g) => [g.student, g.assignment, g.score, g.maxScore, g.status, g.submittedAt, g.submissions].map(csvField).join(','));
    res
      .type('text/csv; charset=utf-8')
      .set('Content-Disposition', 'attachment; filename="gradebook.csv"')
      .send([header.join(','), ...lines].join('\r\n') + '\r\n');
  });

  return api;
}
