// The import rules of docs/architecture.md ("What may import what"), checked by
// dependency-cruiser in `npm run lint` (and so in CI). Paths are relative to the project root.
//
//   from \ to                    platform  http  other routes  services   repositories
//   src/platform/**              yes       no    no            no         no
//   src/http/**                  yes       yes   no            users/sessions only   no
//   <domain>/*routes.ts          yes       yes   no            yes        no
//   <domain>/ services, rules    yes       no    no            yes        yes
//   <domain>/repository.ts       yes       no    no            no         no
//
// The composition root (src/app.ts, src/deps.ts, src/serve.ts and the entry points server, cli, seed,
// migrate) may import anything. Type-only imports count: they couple layers just as much.

const DOMAINS = '(users|avatars|teams|groups|contacts|items|comments|archive|tags|files|import|export|calendar|live|notifications|email-in)'
const DOMAIN = `^src/${DOMAINS}/`
/** a routes module: routes.ts, or <something>-routes.ts */
const ROUTES = 'routes\\.ts$'
/** a repository: repository.ts (one per aggregate), or <something>-repository.ts */
const REPOSITORY = 'repository\\.ts$'

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'platform-knows-no-domain',
      comment: 'src/platform/ is what every domain uses: it imports no domain, no src/http and no composition root (docs/architecture.md)',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: [DOMAIN, '^src/http/', '^src/(app|deps|serve|server|cli|seed|migrate)\\.ts$'] },
    },
    {
      name: 'http-imports-no-domain',
      comment: 'src/http/ (Fastify plumbing) imports the platform and itself; of the domains only the session lookup (users/sessions)',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: DOMAIN, pathNot: '^src/users/sessions\\.ts$' },
    },
    {
      name: 'domain-code-knows-no-http',
      comment: 'services, rule modules and repositories never import src/http or Fastify: only routes modules speak HTTP',
      severity: 'error',
      from: { path: DOMAIN, pathNot: ROUTES },
      to: { path: ['^src/http/', '^node_modules/(fastify|@fastify/|fastify-)'] },
    },
    {
      name: 'services-import-no-routes',
      comment: 'a service or rule module never imports a routes module (routes call services, not the other way)',
      severity: 'error',
      from: { path: DOMAIN, pathNot: ROUTES },
      to: { path: ROUTES },
    },
    {
      name: 'routes-import-no-other-routes',
      comment: 'a routes module never imports another routes module: what two share belongs in a service or in src/http',
      severity: 'error',
      from: { path: ROUTES },
      to: { path: ROUTES },
    },
    {
      name: 'routes-import-no-repository',
      comment: 'routes parse, call one service and shape the reply; they never reach a repository (docs/architecture.md)',
      severity: 'error',
      from: { path: ROUTES },
      to: { path: REPOSITORY },
    },
    {
      name: 'repository-imports-only-platform',
      comment:
        'a repository (SQL only) imports nothing of the project but src/platform/ and other repositories (for the one record shape and column list of a table, e.g. USER_COLUMNS), and no package (node: modules are fine)',
      severity: 'error',
      from: { path: `^src/${DOMAINS}/.*repository\\.ts$` },
      to: { pathNot: ['^src/platform/', `^src/${DOMAINS}/.*repository\\.ts$`], dependencyTypesNot: ['core'] },
    },
    {
      name: 'generated-types-only',
      comment: 'src/generated holds the row types Prisma generates (scripts/prisma-row-types.mjs): imported as types only, never at run time',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/generated/'] },
      to: { path: ['^src/generated/', '^node_modules/@prisma/client'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'server-needs-no-dev-dependency',
      comment:
        'the production image installs production dependencies only: server code imports no devDependency. ' +
        'Exception: src/platform/db/migrations.ts, which only the migration job loads (its image adds the migration engine)',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/platform/db/migrations\\.ts$'] },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-non-package-json',
      comment: 'a package that package.json does not list may vanish with any install',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that resolves to nothing',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-circular',
      comment: 'no cycles between modules (type-only imports included): a cycle makes load order matter and layers blur',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    exclude: { path: ['^src/generated/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
}
