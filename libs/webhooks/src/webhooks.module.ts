import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ProjectsModule } from '@app/projects';
import { UsersModule } from '@app/users';
import { WebhookAttemptEntity } from './webhook-attempt.entity';
import { WebhookDeliveryEntity } from './webhook-delivery.entity';
import { WebhookDispatcher } from './webhook-dispatcher.service';
import { WebhookEntity } from './webhook.entity';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([WebhookEntity, WebhookDeliveryEntity, WebhookAttemptEntity]),
    ProjectsModule,
    UsersModule,
  ],
  providers: [WebhooksRepository, WebhookDeliveriesRepository, WebhooksService, WebhookDispatcher],
  exports: [WebhooksService, WebhookDispatcher],
})
export class WebhooksModule {}
