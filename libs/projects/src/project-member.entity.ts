import { UserEntity } from '@app/users';
import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { ProjectEntity } from './project.entity';

export type ProjectMemberRole = 'owner' | 'member';

@Entity('project_members')
@Index('project_members_user_idx', ['userId'])
export class ProjectMemberEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  projectId: string;

  @PrimaryColumn({ type: 'varchar', length: 40 })
  userId: string;

  @Column({ type: 'varchar', length: 16 })
  role: ProjectMemberRole;

  @CreateDateColumn({ type: 'timestamptz' })
  addedAt: Date;

  @ManyToOne(() => ProjectEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id', foreignKeyConstraintName: 'project_members_project_fk' })
  project?: ProjectEntity;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'project_members_user_fk' })
  user?: UserEntity;
}
