// ESLint (flat config): the recommended rules of ESLint and typescript-eslint on every
// TypeScript and JavaScript file of the project, tuned below where this code base has a
// deliberate idiom, and the layering rule that SQL lives in repositories. `npm run lint` runs
// it together with dependency-cruiser (.dependency-cruiser.cjs: the import rules of
// docs/architecture.md).
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'src/generated/', 'coverage/', 'data/', 'node_modules/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `catch { /* not there yet */ }` is how a deliberate "ignore this failure" reads here
      'no-empty': ['error', { allowEmptyCatch: true }],
      // `const { secret: _s, ...rest } = row` drops a field; `_x` marks what is unused on purpose
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    // Queries live in repositories (docs/architecture.md): `.query(…)` (a statement through the
    // pool, a transaction or a connection) is called only in src/**/repository.ts,
    // src/**/*-repository.ts and src/platform/db/ (the client itself: the pool, the LISTEN
    // connection, db.ping(), savepoint()). Services take the transaction and pass it to
    // repository functions; tests, benchmarks and scripts are not server code.
    files: ['src/**/*.ts'],
    ignores: ['src/**/repository.ts', 'src/**/*-repository.ts', 'src/platform/db/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...["CallExpression[callee.type='MemberExpression'][callee.property.name='query']", "CallExpression[callee.type='MemberExpression'][callee.property.value='query']"].map(
          (selector) => ({
            selector,
            message: 'SQL lives in repositories: move this statement into a repository function (src/<domain>/repository.ts or *-repository.ts) and pass it the executor (docs/architecture.md)',
          }),
        ),
      ],
    },
  },
  {
    // where the code meets an untyped or loosely typed API, `any` is the honest type: pg's
    // internals and its row shape (pool.ts, sql.ts), the wasm schema engine (migrations.ts), the
    // JSON Schema documents (openapi.ts), Fastify's route
    // options (route.ts); and tests and tools read arbitrary JSON bodies
    files: [
      'src/platform/db/pool.ts',
      'src/platform/db/sql.ts',
      'src/platform/db/migrations.ts',
      'src/http/openapi.ts',
      'src/http/route.ts',
      'test/**',
      'bench/**',
      'scripts/**',
    ],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
)
