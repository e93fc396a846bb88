// @ts-check
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// The libraries' layers, lowest first (docs/architecture.md): a library imports @app/<lib> only
// from lower layers, never from its own layer or above, never an app, and never another library's
// files by a relative path. libs/testing is becoming libs/test-runs: both names are listed.
const LIB_LAYERS = [
  ['core'],
  ['mail', 'ratelimit', 'storage'],
  ['runner', 'users'],
  ['auth', 'projects'],
  ['tasks', 'webhooks', 'pipelines', 'changes'],
  ['agents', 'deployments', 'testing', 'test-runs'],
  ['flows'],
];
const NO_APPS = { group: ['**/apps/**', 'apps/*'], message: 'Libraries never import apps.' };
// `../../../projects/src/x` (or `../libs/...`, `../apps/...`) from inside a library: out of its root.
const NO_RELATIVE_EXIT = {
  regex: '^(\\.\\./)+((.*/)?(libs|apps)(/|$)|[^./][^/]*/src(/|$))',
  message: "A relative import out of the library's root: import @app/<lib> (docs/architecture.md).",
};
const libLayerRules = LIB_LAYERS.flatMap((layer, level) =>
  layer.map((lib) => {
    const below = LIB_LAYERS.slice(0, level).flat();
    const notBelow = LIB_LAYERS.slice(level)
      .flat()
      .filter((other) => other !== lib);
    return {
      files: [`libs/${lib}/**/*.{ts,js}`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              NO_APPS,
              NO_RELATIVE_EXIT,
              // The top layer alone has nothing above or beside it to refuse.
              ...(notBelow.length
                ? [
                    {
                      group: notBelow.flatMap((other) => [`@app/${other}`, `@app/${other}/**`]),
                      message:
                        `libs/${lib} (layer ${level}) imports only lower layers: ` +
                        `${below.join(', ') || 'no library'} (docs/architecture.md).`,
                    },
                  ]
                : []),
            ],
          },
        ],
      },
    };
  }),
);

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'eslint.config.mjs', 'jest.config.js'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/explicit-module-boundary-types': 'off',
      '@typescript-eslint/no-require-imports': 'off',
      'no-restricted-imports': ['error', { patterns: [NO_APPS] }],
    },
  },
  ...libLayerRules,
  {
    // The apps use the libraries' public entry points (@app/<lib>), not their files by path.
    files: ['apps/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            NO_APPS,
            {
              regex: '^(\\.\\./)+(.*/)?libs(/|$)',
              message: 'Import a library as @app/<lib> (docs/architecture.md).',
            },
          ],
        },
      ],
    },
  },
  {
    // Type-aware rules: a promise nobody awaits or catches, a promise where a callback's result is
    // ignored (an async handler given to an event emitter), a switch that forgets a union member.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
    },
  },
  {
    files: ['scripts/**/*.js', 'bench/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
