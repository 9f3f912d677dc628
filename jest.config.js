/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type checking is done once by `tsc` in `npm test`; ts-jest only transpiles
  // (tsconfig's isolatedModules makes it skip the type checker).
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 60000,
};
