import { iso, redactUrl } from '@app/core';
import type { SandboxNetwork } from '@app/runner';
import type { PipelineDto } from './pipeline.dto';
import { StageDefinition } from './pipeline.entity';

/** A pipeline row as PipelinesRepository's SQL returns it. */
export interface PipelineRow {
  id: string;
  project_id: string;
  name: string;
  description: string | null;
  /** The pipeline's own; null: it follows its project's repository. */
  repository_url: string | null;
  /** The pipeline's own; null: the project's repository's. */
  default_branch: string | null;
  /** The project's repository, as it is now (PipelinesRepository joins it in). */
  project_repository_url: string | null;
  project_default_branch: string | null;
  project_has_credentials: boolean;
  stages: StageDefinition[];
  artifacts: string[];
  network: SandboxNetwork;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * Where a pipeline's builds check out from now: its own URL, or its project's repository (URL,
 * default branch and credentials) when it has none; null when neither exists.
 */
export function effectiveRepository(
  r: PipelineRow,
): { url: string; defaultBranch: string; fromProject: boolean; projectCredentials: boolean } | null {
  const fromProject = r.repository_url === null;
  const url = r.repository_url ?? r.project_repository_url;
  if (url === null) return null;
  return {
    url,
    defaultBranch:
      r.default_branch ?? (fromProject ? r.project_default_branch : null) ?? DEFAULT_PIPELINE_BRANCH,
    fromProject,
    projectCredentials: fromProject && r.project_has_credentials,
  };
}

export const DEFAULT_PIPELINE_BRANCH = 'main';

export function mapPipelineRow(r: PipelineRow): PipelineDto {
  const repo = effectiveRepository(r);
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    description: r.description,
    repositoryUrl: repo ? redactUrl(repo.url) : null,
    repositoryFromProject: r.repository_url === null,
    defaultBranch: repo?.defaultBranch ?? r.default_branch ?? DEFAULT_PIPELINE_BRANCH,
    stages: r.stages.map((s) => ({ name: s.name, commands: s.commands, timeoutSeconds: s.timeoutSeconds })),
    artifacts: r.artifacts,
    network: r.network,
    createdBy: r.created_by,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}
