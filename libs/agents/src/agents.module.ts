import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ProjectsModule } from '@app/projects';
import { TasksModule } from '@app/tasks';
import { ActivationsRepository } from './activations.repository';
import { AgentActivationEntity } from './agent-activation.entity';
import { AgentEventEntity } from './agent-event.entity';
import { AgentEventsRepository } from './agent-events.repository';
import { AgentEvents } from './agent-events.service';
import { AgentRunner } from './agent-runner.service';
import { AgentsService } from './agents.service';
import { ProjectDocumentEntity } from './project-document.entity';
import { ProjectDocumentsRepository } from './project-documents.repository';
import { Providers } from './providers/providers';

@Module({
  imports: [
    TypeOrmModule.forFeature([AgentActivationEntity, AgentEventEntity, ProjectDocumentEntity]),
    ProjectsModule,
    TasksModule,
  ],
  providers: [
    ActivationsRepository,
    AgentEventsRepository,
    ProjectDocumentsRepository,
    AgentsService,
    AgentRunner,
    AgentEvents,
    Providers,
  ],
  exports: [AgentsService, AgentRunner, AgentEvents, Providers],
})
export class AgentsModule {}
