import { UserEntity } from '@app/users';
import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

/** An API client (client_id + client_secret) acting as the user who owns it. */
@Entity('api_clients')
@Index('api_clients_owner_idx', ['ownerId'])
export class ApiClientEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 40 })
  ownerId: string;

  /** A client dies with its owner. */
  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'owner_id', foreignKeyConstraintName: 'api_clients_owner_fk' })
  owner?: UserEntity;

  /** SHA-256 of the secret: secrets are 256-bit random, so a slow hash adds nothing. */
  @Column({ type: 'char', length: 64, select: false })
  secretHash: string;

  /** Space-separated scopes the client may ask for (at most its owner's). */
  @Column({ type: 'varchar', length: 64 })
  scopes: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  secretRotatedAt: Date | null;
}
