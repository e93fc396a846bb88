import { mapStage, variablesProblem } from './build.dto';
import { mapBuildRow } from './build.rows';

describe('mapStage: the seed’s stage objects', () => {
  const base = { name: 'test', commands: ['a', 'b', 'c', 'd'], timeoutSeconds: 60 };

  it('shows a pending stage as name and status only', () => {
    expect(mapStage({ ...base, status: 'pending' })).toEqual({ name: 'test', status: 'pending' });
  });

  it('shows a running stage with its progress (commands done) and start', () => {
    expect(
      mapStage({ ...base, status: 'running', commandsDone: 2, startedAt: '2026-03-14T12:10:15Z' }),
    ).toEqual({ name: 'test', status: 'running', progress: 50, startedAt: '2026-03-14T12:10:15Z' });
  });

  it('shows a finished stage with its duration in seconds and both timestamps', () => {
    expect(
      mapStage({
        ...base,
        status: 'success',
        startedAt: '2026-03-14T12:07:15Z',
        finishedAt: '2026-03-14T12:10:15Z',
        durationMs: 180_000,
      }),
    ).toEqual({
      name: 'test',
      status: 'success',
      duration: 180,
      startedAt: '2026-03-14T12:07:15Z',
      finishedAt: '2026-03-14T12:10:15Z',
    });
    expect(mapStage({ ...base, status: 'failed', durationMs: 1234, reason: 'timed out after 1 s' })).toEqual({
      name: 'test',
      status: 'failed',
      duration: 1.234,
      reason: 'timed out after 1 s',
    });
  });
});

describe('mapBuildRow', () => {
  const row = {
    id: 'build_20260314abcdefgh',
    pipeline_id: 'pipe_ecom_main',
    project_id: 'prj_1',
    status: 'success' as const,
    branch: 'main',
    commit: null,
    commit_sha: 'a'.repeat(40),
    environment: null,
    skip_tests: false,
    variable_names: ['TOKEN'],
    stages: [],
    artifacts: [{ name: 'app v1.jar', size: 3, file: '0', path: 'dist/app v1.jar' }],
    network: 'none' as const,
    current_stage: null,
    progress: 100,
    error: null,
    triggered_by: 'usr_1',
    started_at: new Date('2026-03-14T12:07:00.250Z'),
    finished_at: new Date('2026-03-14T12:10:15.500Z'),
    created_at: new Date('2026-03-14T12:05:01Z'),
  };

  it('links the artifacts and the log under the public base URL, and gives the duration in seconds', () => {
    const dto = mapBuildRow(row, 'https://api.example.com');
    expect(dto.artifacts).toEqual([
      {
        name: 'app v1.jar',
        size: 3,
        url: `https://api.example.com/v2/builds/${row.id}/artifacts/app%20v1.jar`,
      },
    ]);
    expect(dto.logs).toEqual({
      console: `https://api.example.com/v2/builds/${row.id}/logs`,
      testReport: null,
    });
    expect(dto.duration).toBe(195.25);
    expect(dto.commit).toBe('a'.repeat(40));
    expect(dto.queuePosition).toBeNull();
    expect(dto.variables).toEqual(['TOKEN']);
  });

  it('gives the queue position of a queued build only', () => {
    expect(mapBuildRow({ ...row, status: 'queued' }, '', 3).queuePosition).toBe(3);
    expect(mapBuildRow(row, '', 3).queuePosition).toBeNull();
  });
});

describe('variablesProblem', () => {
  it('accepts an object of names to strings', () => {
    expect(variablesProblem({ API_TOKEN: 'x', _private: '', N2: '1' })).toBeNull();
  });

  it.each([
    [[], 'variables must be an object of NAME: value'],
    [null, 'variables must be an object of NAME: value'],
    [{ '1X': 'a' }, 'variables.1X: names are letters, digits and "_", not starting with a digit'],
    [{ 'A-B': 'a' }, 'variables.A-B: names are letters, digits and "_", not starting with a digit'],
    [{ A: { b: 1 } }, 'variables.A must be a string, number or boolean'],
    [{ A: 'x\0y' }, 'variables.A contains a NUL character'],
  ])('refuses %j', (value, problem) => {
    expect(variablesProblem(value)).toBe(problem);
  });

  it('refuses more than 100 variables', () => {
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`V${i}`, 'x']));
    expect(variablesProblem(many)).toBe('variables may hold at most 100 entries');
  });
});
