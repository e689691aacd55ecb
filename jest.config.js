/** Every tier runs in `npm test`; see README "Tests". */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  moduleNameMapper: { '^#shared/(.*)$': '<rootDir>/lambdas/shared/$1' },
  setupFiles: ['<rootDir>/test/setup-env.ts', '<rootDir>/test/setup-aws-limits.ts'],
  testTimeout: 60000,
};
