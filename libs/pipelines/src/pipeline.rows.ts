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
  repository_url: string;
  default_branch: string;
  stages: StageDefinition[];
  artifacts: string[];
  network: SandboxNetwork;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export function mapPipelineRow(r: PipelineRow): PipelineDto {
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    description: r.description,
    repositoryUrl: redactUrl(r.repository_url),
    defaultBranch: r.default_branch,
    stages: r.stages.map((s) => ({ name: s.name, commands: s.commands, timeoutSeconds: s.timeoutSeconds })),
    artifacts: r.artifacts,
    network: r.network,
    createdBy: r.created_by,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}
