import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MailEntity } from './mail.entity';
import { MailRepository } from './mail.repository';
import { MailService } from './mail.service';

@Module({
  imports: [TypeOrmModule.forFeature([MailEntity])],
  providers: [MailService, MailRepository],
  exports: [MailService],
})
export class MailModule {}
