import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MailModule } from '@app/mail';
import { AuditLogEntity } from './audit-log.entity';
import { AuditLogRepository } from './audit-log.repository';
import { AuditLogService } from './audit-log.service';
import { PasswordHasher } from './password-hasher';
import { UserEntity } from './user.entity';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

@Module({
  imports: [TypeOrmModule.forFeature([UserEntity, AuditLogEntity]), MailModule],
  providers: [UsersService, UsersRepository, AuditLogService, AuditLogRepository, PasswordHasher],
  exports: [UsersService, AuditLogService, PasswordHasher],
})
export class UsersModule {}
