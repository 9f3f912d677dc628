/**
 * A cgroup (v1) per cell process: the memory controller limits everything the process maps
 * (V8 heap, Buffers, wasm memory, its private /tmp, which is a tmpfs), and counts the OOM kills
 * the kernel made in it; the pids controller limits processes and threads (no fork bomb).
 *
 * Why not RLIMIT_AS: V8 reserves address space it never touches (a wasm memory reserves ~10 GB
 * of guard regions, the code range 128 MB). Measured with node 20: under RLIMIT_AS 256 MB node does
 * not start, under 1–4 GB `new WebAssembly.Memory` fails, under 16 GB one wasm memory works but a
 * second does not. An address-space limit cannot be a memory limit for wasm; a cgroup counts
 * only pages really used.
 *
 * The cgroups are made under the memory cgroup of this process (so whatever limits it also limits
 * the cells) and at the top of the pids hierarchy, named `cardlab-cell-<our pid>-<n>`.
 */
import fs from 'fs';
import path from 'path';

export const CGROUP_V1_ROOT = '/sys/fs/cgroup';
const PREFIX = 'cardlab-cell-';

/** How many processes and threads a cell may have (a cell with tslab and the wasm backend: 13 measured, bwrap included). */
export const CELL_PIDS_LIMIT = 128;

/** The cgroup path of this process for one v1 controller, from /proc/self/cgroup ("4:memory:/a/b"). */
function ownCgroup(controller: string): string | undefined {
  try {
    for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
      const [, controllers, where] = line.split(':');
      if (controllers?.split(',').includes(controller)) return where;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** The folder new cell cgroups go in, for one controller. */
export function cgroupParent(controller: 'memory' | 'pids', root = CGROUP_V1_ROOT): string {
  const own = controller === 'memory' ? (ownCgroup('memory') ?? '/') : '/';
  return path.join(root, controller, own);
}

/**
 * Why cell cgroups cannot be made here, or null when they can: tries to create (and remove) one
 * in each controller.
 */
export function cgroupProblem(root = CGROUP_V1_ROOT): string | null {
  for (const controller of ['memory', 'pids'] as const) {
    const parent = cgroupParent(controller, root);
    const probe = path.join(parent, `${PREFIX}probe-${process.pid}`);
    try {
      fs.mkdirSync(probe);
      const limit = controller === 'memory' ? 'memory.limit_in_bytes' : 'pids.max';
      if (!fs.existsSync(path.join(probe, limit))) return `the ${controller} cgroup at ${parent} has no ${limit}`;
    } catch (err) {
      return `cannot create a ${controller} cgroup under ${parent} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the cell sandbox needs the cgroup v1 memory and pids controllers, writable (run as root)`;
    } finally {
      try {
        fs.rmdirSync(probe);
      } catch {
        // it was not made
      }
    }
  }
  return null;
}

let counter = 0;

export class CellCgroup {
  readonly memoryDir: string;
  readonly pidsDir: string;

  private constructor(name: string, root: string) {
    this.memoryDir = path.join(cgroupParent('memory', root), name);
    this.pidsDir = path.join(cgroupParent('pids', root), name);
  }

  /** Makes the cgroup pair with its limits; throws with the reason when it cannot. */
  static create(memoryLimitBytes: number, root = CGROUP_V1_ROOT): CellCgroup {
    removeStaleCgroups(root);
    const group = new CellCgroup(`${PREFIX}${process.pid}-${++counter}`, root);
    fs.mkdirSync(group.memoryDir);
    try {
      fs.mkdirSync(group.pidsDir);
      group.setMemoryLimit(memoryLimitBytes);
      fs.writeFileSync(path.join(group.pidsDir, 'pids.max'), String(CELL_PIDS_LIMIT));
    } catch (err) {
      group.remove();
      throw err;
    }
    return group;
  }

  /** Also the swap limit where the kernel accounts swap, so pages cannot escape to swap. */
  setMemoryLimit(bytes: number): void {
    const memsw = path.join(this.memoryDir, 'memory.memsw.limit_in_bytes');
    const hasMemsw = fs.existsSync(memsw);
    // memsw must stay ≥ memory: raise memsw first when growing, lower memory first when shrinking.
    const current = Number(fs.readFileSync(path.join(this.memoryDir, 'memory.limit_in_bytes'), 'utf8'));
    if (hasMemsw && bytes > current) fs.writeFileSync(memsw, String(bytes));
    fs.writeFileSync(path.join(this.memoryDir, 'memory.limit_in_bytes'), String(bytes));
    if (hasMemsw && bytes <= current) fs.writeFileSync(memsw, String(bytes));
  }

  /** The files a process writes its pid into to join (before it execs what runs the cell). */
  get procsFiles(): [string, string] {
    return [path.join(this.memoryDir, 'cgroup.procs'), path.join(this.pidsDir, 'cgroup.procs')];
  }

  /** How many processes the kernel's OOM killer ended in this cgroup. */
  oomKills(): number {
    try {
      const match = /^oom_kill (\d+)/m.exec(fs.readFileSync(path.join(this.memoryDir, 'memory.oom_control'), 'utf8'));
      if (match) return Number(match[1]);
      // Kernels before 4.13 have no oom_kill line: the limit was hit if allocations failed.
      return Number(fs.readFileSync(path.join(this.memoryDir, 'memory.failcnt'), 'utf8')) > 0 ? 1 : 0;
    } catch {
      return 0;
    }
  }

  pids(): number[] {
    const out = new Set<number>();
    for (const file of this.procsFiles) {
      try {
        for (const pid of fs.readFileSync(file, 'utf8').split('\n')) if (pid) out.add(Number(pid));
      } catch {
        // already removed
      }
    }
    return [...out];
  }

  /** Every thread of every process in the cgroup (host thread ids). */
  threads(): number[] {
    try {
      return fs.readFileSync(path.join(this.memoryDir, 'tasks'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return []; // already removed
    }
  }

  /** SIGKILL to every process in the cgroup (whatever it forked, wherever it is in its namespaces). */
  killAll(): void {
    for (const pid of this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** Kills what is left and removes both folders (the kernel refuses while a process is in them). */
  remove(): boolean {
    let removed = true;
    for (const dir of [this.memoryDir, this.pidsDir]) {
      for (let attempt = 0; ; attempt++) {
        try {
          fs.rmdirSync(dir);
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || attempt >= 50) {
            removed = false;
            break;
          }
          this.killAll();
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10); // a killed process takes a moment to go
        }
      }
    }
    return removed;
  }
}

/** Cgroups left by a cardlab process that is gone (killed with SIGKILL): removed when empty. */
function removeStaleCgroups(root: string): void {
  for (const controller of ['memory', 'pids'] as const) {
    const parent = cgroupParent(controller, root);
    let names: string[];
    try {
      names = fs.readdirSync(parent).filter((n) => n.startsWith(PREFIX));
    } catch {
      continue;
    }
    for (const name of names) {
      const owner = Number(/^cardlab-cell-(\d+)-/.exec(name)?.[1]);
      if (!owner || owner === process.pid || processAlive(owner)) continue;
      try {
        fs.rmdirSync(path.join(parent, name));
      } catch {
        // still has a process, or another cleaner got there first
      }
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This process's cell cgroups still present (tests: none may be left after a run or a shutdown). */
export function ownCellCgroups(pid = process.pid, root = CGROUP_V1_ROOT): string[] {
  const out: string[] = [];
  for (const controller of ['memory', 'pids'] as const) {
    const parent = cgroupParent(controller, root);
    try {
      for (const name of fs.readdirSync(parent)) if (name.startsWith(`${PREFIX}${pid}-`)) out.push(path.join(parent, name));
    } catch {
      // no such controller
    }
  }
  return out;
}
