export * from './project-access.service';
export * from './project-member.entity';
export * from './project-stats.entity';
export * from './project-stats.service';
export * from './project.dto';
export * from './project.entity';
export * from './projects.module';
export * from './projects.service';
