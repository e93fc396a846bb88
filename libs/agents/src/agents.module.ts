import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ChangesModule } from '@app/changes';
import { PipelinesModule } from '@app/pipelines';
import { ProjectsModule } from '@app/projects';
import { RunnerModule } from '@app/runner';
import { TasksModule } from '@app/tasks';
import { UsersModule } from '@app/users';
import { CodeWork } from './code/code-work.service';
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
    UsersModule,
    RunnerModule,
    PipelinesModule,
    ChangesModule,
  ],
  providers: [
    ActivationsRepository,
    AgentEventsRepository,
    ProjectDocumentsRepository,
    AgentsService,
    AgentRunner,
    AgentEvents,
    Providers,
    CodeWork,
  ],
  exports: [AgentsService, AgentRunner, AgentEvents, Providers],
})
export class AgentsModule {}
