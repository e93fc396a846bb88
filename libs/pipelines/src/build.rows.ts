import { iso, secondsBetween } from '@app/core';
import type { SandboxNetwork } from '@app/runner';
import { artifactUrl, BuildDto, mapStage } from './build.dto';
import { BuildStage, BuildStatus, Environment, StoredArtifact } from './build.entity';

/** A build row as BuildsRepository's SQL returns it. */
export interface BuildRow {
  id: string;
  pipeline_id: string;
  project_id: string;
  status: BuildStatus;
  branch: string;
  commit: string | null;
  commit_sha: string | null;
  environment: Environment | null;
  skip_tests: boolean;
  variable_names: string[];
  stages: BuildStage[];
  artifacts: StoredArtifact[];
  network: SandboxNetwork;
  current_stage: string | null;
  progress: number;
  error: string | null;
  triggered_by: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  created_at: Date;
}

/** The seed's build body. `baseUrl` makes the artifact and log links absolute. */
export function mapBuildRow(r: BuildRow, baseUrl: string, queuePosition: number | null = null): BuildDto {
  return {
    buildId: r.id,
    pipelineId: r.pipeline_id,
    projectId: r.project_id,
    status: r.status,
    currentStage: r.current_stage,
    progress: r.progress,
    queuePosition: r.status === 'queued' ? queuePosition : null,
    branch: r.branch,
    commit: r.commit_sha ?? r.commit,
    environment: r.environment,
    skipTests: r.skip_tests,
    variables: r.variable_names,
    triggeredBy: r.triggered_by,
    triggeredAt: iso(r.created_at),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    duration: secondsBetween(r.started_at, r.finished_at),
    stages: r.stages.map(mapStage),
    artifacts: r.artifacts.map((a) => ({
      name: a.name,
      size: a.size,
      url: artifactUrl(baseUrl, r.id, a.name),
    })),
    network: r.network,
    logs: { console: `${baseUrl}/v2/builds/${r.id}/logs`, testReport: null },
    error: r.error,
  };
}
