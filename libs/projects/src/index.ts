export * from './project-access.service';
export * from './project-stats.service';
export * from './project.dto';
export * from './project.entity';
export * from './projects.module';
export * from './projects.service';
export { accessOf, PROJECT_ACCESS_COLUMNS, projectAccessJoin } from './project-access.repository';
export type { ProjectAccessRow } from './project-access.repository';
