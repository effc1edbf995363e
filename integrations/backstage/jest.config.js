/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Babel only strips the types (tsc checks them, see `npm run typecheck`): pure JavaScript, no
  // platform-specific binaries to install.
  transform: {
    '^.+\\.ts$': [
      'babel-jest',
      {
        babelrc: false,
        configFile: false,
        presets: [['@babel/preset-typescript', { onlyRemoveTypeImports: false }]],
        plugins: ['@babel/plugin-transform-modules-commonjs'],
      },
    ],
  },
  // Suites start their own gate serve; startup takes seconds.
  testTimeout: 60000,
};
