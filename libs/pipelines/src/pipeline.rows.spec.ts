import { effectiveRepository, mapPipelineRow, PipelineRow } from './pipeline.rows';

const row = (over: Partial<PipelineRow>): PipelineRow => ({
  id: 'pipe_1',
  project_id: 'prj_1',
  name: 'main',
  description: null,
  repository_url: null,
  default_branch: null,
  project_repository_url: null,
  project_default_branch: null,
  project_has_credentials: false,
  stages: [],
  artifacts: [],
  network: 'none',
  created_by: null,
  created_at: new Date('2026-01-01T00:00:00Z'),
  updated_at: new Date('2026-01-01T00:00:00Z'),
  ...over,
});

describe('a pipeline and its project repository', () => {
  it("follows the project's URL, default branch and credentials when it has no URL of its own", () => {
    const r = row({
      project_repository_url: 'https://git.example.com/a.git',
      project_default_branch: 'trunk',
      project_has_credentials: true,
    });
    expect(effectiveRepository(r)).toEqual({
      url: 'https://git.example.com/a.git',
      defaultBranch: 'trunk',
      fromProject: true,
      projectCredentials: true,
    });
    expect(mapPipelineRow(r)).toMatchObject({
      repositoryUrl: 'https://git.example.com/a.git',
      repositoryFromProject: true,
      defaultBranch: 'trunk',
    });
  });

  it("keeps its own branch over the project's", () => {
    const r = row({
      default_branch: 'dev',
      project_repository_url: 'https://h/a.git',
      project_default_branch: 'trunk',
    });
    expect(effectiveRepository(r)?.defaultBranch).toBe('dev');
  });

  it("uses its own URL (never the project's credentials) when it has one", () => {
    const r = row({
      repository_url: 'https://ci:s3cret@h/own.git',
      default_branch: 'main',
      project_repository_url: 'https://h/a.git',
      project_default_branch: 'trunk',
      project_has_credentials: true,
    });
    expect(effectiveRepository(r)).toEqual({
      url: 'https://ci:s3cret@h/own.git',
      defaultBranch: 'main',
      fromProject: false,
      projectCredentials: false,
    });
    expect(mapPipelineRow(r)).toMatchObject({
      repositoryUrl: 'https://ci:***@h/own.git',
      repositoryFromProject: false,
    });
  });

  it('has no repository when it follows a project without one', () => {
    expect(effectiveRepository(row({}))).toBeNull();
    expect(mapPipelineRow(row({}))).toMatchObject({
      repositoryUrl: null,
      repositoryFromProject: true,
      defaultBranch: 'main',
    });
  });
});
