import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AgentsService, ListDocumentsQueryDto, ProjectDocumentDto } from '@app/agents';
import { CurrentUser, RequirePermissions } from '@app/auth';
import { Page, Permission, Principal } from '@app/core';
import { ApiPage } from '../http/api-page.decorator';

@ApiTags('projects')
@Controller('projects/:projectId/documents')
export class DocumentsController {
  constructor(private readonly agents: AgentsService) {}

  @Get()
  @RequirePermissions(Permission.DocumentsRead)
  @ApiOperation({ summary: 'Documents the agents wrote for the project (PRDs, designs, plans)' })
  @ApiPage(ProjectDocumentDto)
  list(
    @CurrentUser() principal: Principal,
    @Param('projectId') projectId: string,
    @Query() query: ListDocumentsQueryDto,
  ): Promise<Page<ProjectDocumentDto>> {
    return this.agents.documents(principal, projectId, query);
  }

  @Get(':documentId')
  @RequirePermissions(Permission.DocumentsRead)
  @ApiOperation({ summary: 'One document with its content' })
  @ApiOkResponse({ type: ProjectDocumentDto })
  get(
    @CurrentUser() principal: Principal,
    @Param('projectId') projectId: string,
    @Param('documentId') documentId: string,
  ): Promise<ProjectDocumentDto> {
    return this.agents.document(principal, projectId, documentId);
  }
}
