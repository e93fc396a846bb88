import { Role } from '@app/core';
import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export enum UserStatus {
  Active = 'active',
  Inactive = 'inactive',
  Suspended = 'suspended',
  PendingVerification = 'pending_verification',
}

export enum Tier {
  Free = 'free',
  Pro = 'pro',
  Enterprise = 'enterprise',
}

// Uniqueness of username/email is case-insensitive and among users not deleted, so a
// soft-deleted user's name can be taken again: expression indexes written in the migration.
@Entity('users')
@Index('users_username_key', { synchronize: false })
@Index('users_email_key', { synchronize: false })
@Index('users_created_idx', ['createdAt'], { where: 'deleted_at IS NULL' })
export class UserEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 20 })
  username: string;

  @Column({ type: 'varchar', length: 254 })
  email: string;

  @Column({ type: 'varchar', length: 100 })
  fullName: string;

  @Column({ type: 'varchar', length: 32 })
  role: Role;

  @Column({ type: 'varchar', length: 32 })
  status: UserStatus;

  @Column({ type: 'varchar', length: 16, default: Tier.Free })
  tier: Tier;

  @Column({ type: 'varchar', length: 500, nullable: true })
  avatar: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  department: string | null;

  @Column({ type: 'text', select: false })
  passwordHash: string;

  @Column({ type: 'timestamptz', nullable: true })
  emailVerifiedAt: Date | null;

  @Column({ type: 'char', length: 64, nullable: true, select: false })
  verificationTokenHash: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  verificationExpiresAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  lastLoginAt: Date | null;

  /** Tokens issued before this instant are refused (set by a password change). */
  @Column({ type: 'timestamptz', nullable: true })
  tokensValidAfter: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  deletedAt: Date | null;
}
