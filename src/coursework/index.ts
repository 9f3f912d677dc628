/** Coursework: student copies of instructor notebooks, and autograding of submissions. */
export { assignNotebook, assignFiles } from './assign';
/** The name the server looks for (server/coursework.ts loadTools). */
export { assignNotebook as assign } from './assign';
export { autograde, DEFAULT_GRADING_MEMORY_MB } from './autograde';
export type { GradeReport, CellGrade, AutogradeOptions } from './autograde';
export { readAssignment } from './assignment';
export type { Assignment, GradedCell } from './assignment';
export { parseRegions, studentSource, STUB } from './markers';
export { testChecksum } from './grade-metadata';
